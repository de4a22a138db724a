/** What `api.cache.get` returns, as in Auth0 Actions. */
export interface CacheRecord {
  value: string;
  /** Expiry as milliseconds since the epoch. */
  expires_at: number;
}

export type CacheWriteResult = { type: "success"; record?: CacheRecord } | { type: "error"; code: string };

/** Auth0's `api.cache`: synchronous, strings only, small and best effort. */
export interface ActionCache {
  get(key: string): CacheRecord | undefined;
  set(key: string, value: string, options?: { ttl?: number; expires_at?: number }): CacheWriteResult;
  delete(key: string): CacheWriteResult;
}

/** Where a cache keeps its records between runs (the host stores them in its database). */
export interface CacheBackend {
  load(): Iterable<[string, CacheRecord]>;
  save(key: string, record: CacheRecord): void;
  remove(key: string): void;
}

/**
 * Auth0's limits (Actions Limitations, "Cached data"): 20 entries, 64-byte keys, 4 KB values, keys and values
 * together at most 8 KB; a 15-minute default lifetime, at most 24 hours, for `ttl` and `expires_at` alike.
 */
export const CACHE_LIMITS = {
  maxEntries: 20,
  maxKeyBytes: 64,
  maxValueBytes: 4096,
  maxTotalBytes: 8192,
  defaultTtlMs: 15 * 60_000,
  maxTtlMs: 24 * 60 * 60_000,
} as const;

/** An `api.cache` with Auth0's semantics over an optional persistent backend. */
export function createActionCache(backend?: CacheBackend, now: () => number = Date.now): ActionCache {
  const records = new Map<string, CacheRecord>(backend ? [...backend.load()] : []);
  // Bytes of every key and value held, against Auth0's cumulative limit.
  let total = 0;
  for (const [key, record] of records) total += byteLength(key) + byteLength(record.value);

  /** Forget in memory only (the backend's row is about to be overwritten); true if there was a record. */
  const forget = (key: string): boolean => {
    const record = records.get(key);
    if (!record) return false;
    records.delete(key);
    total -= byteLength(key) + byteLength(record.value);
    return true;
  };
  const drop = (key: string) => {
    if (forget(key)) backend?.remove(key);
  };
  const live = (key: string): CacheRecord | undefined => {
    const record = records.get(key);
    if (record && record.expires_at <= now()) {
      drop(key);
      return undefined;
    }
    return record;
  };

  return {
    get(key) {
      const record = live(key);
      return record ? { ...record } : undefined;
    },
    set(key, value, options = {}) {
      if (typeof key !== "string" || byteLength(key) > CACHE_LIMITS.maxKeyBytes) {
        return { type: "error", code: "KEY_TOO_LARGE" };
      }
      if (typeof value !== "string") return { type: "error", code: "VALUE_NOT_STRING" };
      if (byteLength(value) > CACHE_LIMITS.maxValueBytes) return { type: "error", code: "VALUE_TOO_LARGE" };
      const at = now();
      const expiresAt = expiryOf(options, at);
      if (expiresAt <= at) {
        drop(key);
        return { type: "success" };
      }
      const size = byteLength(key) + byteLength(value);
      forget(key);
      for (const existing of [...records.keys()]) live(existing);
      // Full (entries, or bytes): like Auth0's best-effort cache, evict the entries closest to expiring.
      while (records.size >= CACHE_LIMITS.maxEntries || total + size > CACHE_LIMITS.maxTotalBytes) {
        let soonest: string | undefined;
        for (const [k, r] of records)
          if (soonest === undefined || r.expires_at < records.get(soonest)!.expires_at) soonest = k;
        if (soonest === undefined) break;
        drop(soonest);
      }
      const record = { value, expires_at: expiresAt };
      records.set(key, record);
      total += size;
      backend?.save(key, record);
      return { type: "success", record: { ...record } };
    },
    delete(key) {
      drop(key);
      return { type: "success" };
    },
  };
}

/**
 * When a record set now expires: the earlier of `ttl` and `expires_at` when both are given (as Auth0 says),
 * 15 minutes when neither is, and never beyond the 24-hour maximum lifetime.
 */
function expiryOf(options: { ttl?: number; expires_at?: number }, at: number): number {
  const { ttl, expires_at } = options;
  const fromTtl = typeof ttl === "number" && !Number.isNaN(ttl) ? at + ttl : undefined;
  const absolute = typeof expires_at === "number" && !Number.isNaN(expires_at) ? expires_at : undefined;
  const wanted =
    fromTtl !== undefined && absolute !== undefined
      ? Math.min(fromTtl, absolute)
      : (fromTtl ?? absolute ?? at + CACHE_LIMITS.defaultTtlMs);
  return Math.min(wanted, at + CACHE_LIMITS.maxTtlMs);
}

const encoder = new TextEncoder();
function byteLength(text: string): number {
  return encoder.encode(text).length;
}
