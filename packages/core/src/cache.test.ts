import { describe, expect, it } from "vitest";
import { CACHE_LIMITS, type CacheRecord, createActionCache } from "./cache.js";

describe("createActionCache", () => {
  it("gets, sets and deletes like Auth0's api.cache", () => {
    let now = 1_000;
    const cache = createActionCache(undefined, () => now);
    expect(cache.get("k")).toBeUndefined();
    expect(cache.set("k", "v", { ttl: 500 })).toEqual({
      type: "success",
      record: { value: "v", expires_at: 1_500 },
    });
    expect(cache.get("k")).toEqual({ value: "v", expires_at: 1_500 });
    now = 1_500;
    expect(cache.get("k")).toBeUndefined();
    cache.set("k", "v2", { expires_at: 9_000 });
    expect(cache.get("k")?.value).toBe("v2");
    expect(cache.delete("k")).toEqual({ type: "success" });
    expect(cache.get("k")).toBeUndefined();
  });

  it("applies the default and maximum TTL", () => {
    const cache = createActionCache(undefined, () => 0);
    expect(cache.set("a", "1").type === "success" && cache.get("a")?.expires_at).toBe(
      CACHE_LIMITS.defaultTtlMs,
    );
    cache.set("b", "1", { ttl: 10 * CACHE_LIMITS.maxTtlMs });
    expect(cache.get("b")?.expires_at).toBe(CACHE_LIMITS.maxTtlMs);
  });

  it("enforces Auth0's size limits", () => {
    const cache = createActionCache();
    expect(cache.set("k".repeat(65), "v")).toEqual({ type: "error", code: "KEY_TOO_LARGE" });
    expect(cache.set("k", "v".repeat(4097))).toEqual({ type: "error", code: "VALUE_TOO_LARGE" });
    expect(cache.set("k", 42 as unknown as string)).toEqual({ type: "error", code: "VALUE_NOT_STRING" });
    expect(cache.set("k", "v".repeat(4096)).type).toBe("success");
  });

  it("keeps at most 20 entries, evicting the one closest to expiry", () => {
    const cache = createActionCache(undefined, () => 0);
    for (let i = 0; i < 20; i++) cache.set(`k${i}`, "v", { ttl: 1_000 + i });
    cache.set("new", "v", { ttl: 5_000 });
    expect(cache.get("k0")).toBeUndefined();
    expect(cache.get("k1")?.value).toBe("v");
    expect(cache.get("new")?.value).toBe("v");
  });

  it("takes the earlier of ttl and expires_at, and caps both at 24 hours (Auth0's event-stream api object)", () => {
    const cache = createActionCache(undefined, () => 1_000);
    cache.set("both", "v", { ttl: 500, expires_at: 9_000 });
    expect(cache.get("both")?.expires_at).toBe(1_500);
    cache.set("both", "v", { ttl: 50_000, expires_at: 9_000 });
    expect(cache.get("both")?.expires_at).toBe(9_000);
    cache.set("far", "v", { expires_at: 1_000 + 2 * CACHE_LIMITS.maxTtlMs });
    expect(cache.get("far")?.expires_at).toBe(1_000 + CACHE_LIMITS.maxTtlMs);
  });

  it("keeps keys and values within 8 KB together, evicting the entries closest to expiry", () => {
    const cache = createActionCache(undefined, () => 0);
    const big = "v".repeat(4000);
    cache.set("a", big, { ttl: 1_000 });
    cache.set("b", big, { ttl: 2_000 });
    // 8,002 bytes held: one more small entry would pass 8,192 only with another big value.
    cache.set("c", "x".repeat(200), { ttl: 3_000 });
    expect(cache.get("a")).toBeUndefined();
    expect(cache.get("b")?.value).toBe(big);
    expect(cache.get("c")?.value).toHaveLength(200);
    // Overwriting a key replaces its bytes rather than adding to them.
    cache.set("b", big, { ttl: 2_000 });
    expect(cache.get("c")?.value).toHaveLength(200);
  });

  it("writes through to its backend and loads from it", () => {
    const stored = new Map<string, CacheRecord>();
    const backend = {
      load: () => stored.entries(),
      save: (key: string, record: CacheRecord) => stored.set(key, record),
      remove: (key: string) => stored.delete(key),
    };
    const first = createActionCache(backend, () => 0);
    first.set("token", "abc", { ttl: 60_000 });
    first.set("gone", "x", { ttl: 60_000 });
    first.delete("gone");
    const second = createActionCache(backend, () => 10);
    expect(second.get("token")).toEqual({ value: "abc", expires_at: 60_000 });
    expect(second.get("gone")).toBeUndefined();
  });
});
