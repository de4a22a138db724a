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

/** Auth0's limits: 20 entries, 64-byte keys, 4 KB values; a 15-minute default TTL, at most 24 hours. */
export const CACHE_LIMITS = {
  maxEntries: 20,
  maxKeyBytes: 64,
  maxValueBytes: 4096,
  defaultTtlMs: 15 * 60_000,
  maxTtlMs: 24 * 60 * 60_000,
} as const;

/** An `api.cache` with Auth0's semantics over an optional persistent backend. */
export function createActionCache(backend?: CacheBackend, now: () => number = Date.now): ActionCache {
  const records = new Map<string, CacheRecord>(backend ? [...backend.load()] : []);

  const drop = (key: string) => {
    if (records.delete(key)) backend?.remove(key);
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
      const expiresAt =
        options.expires_at ?? at + Math.min(options.ttl ?? CACHE_LIMITS.defaultTtlMs, CACHE_LIMITS.maxTtlMs);
      if (expiresAt <= at) {
        drop(key);
        return { type: "success" };
      }
      if (!records.has(key)) {
        for (const existing of [...records.keys()]) live(existing);
        // Full: like Auth0's best-effort cache, evict the entry closest to expiring.
        while (records.size >= CACHE_LIMITS.maxEntries) {
          let soonest: string | undefined;
          for (const [k, r] of records)
            if (soonest === undefined || r.expires_at < records.get(soonest)!.expires_at) soonest = k;
          if (soonest === undefined) break;
          drop(soonest);
        }
      }
      const record = { value, expires_at: expiresAt };
      records.set(key, record);
      backend?.save(key, record);
      return { type: "success", record: { ...record } };
    },
    delete(key) {
      drop(key);
      return { type: "success" };
    },
  };
}

const encoder = new TextEncoder();
function byteLength(text: string): number {
  return encoder.encode(text).length;
}
