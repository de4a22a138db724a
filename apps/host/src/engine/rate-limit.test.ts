import { describe, expect, it } from "vitest";
import { manualTimers } from "../../test/manual-timers.js";
import { LocalBuckets, RateGate, rateLimitOf, takeTokens } from "./rate-limit.js";

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe("token bucket", () => {
  it("refills at the rate, up to the burst, and says how long until the next token", () => {
    const limit = { perSecond: 5, burst: 2 };
    expect(takeTokens(2, 0, limit, 3)).toEqual({ left: 0, grant: { granted: 2, waitMs: 200 } });
    expect(takeTokens(0, 100, limit, 1)).toEqual({ left: 0.5, grant: { granted: 0, waitMs: 100 } });
    expect(takeTokens(0, 10_000, limit, 5).grant.granted).toBe(2);
    // A clock that steps back refills nothing.
    expect(takeTokens(0.5, -5_000, limit, 1).grant).toEqual({ granted: 0, waitMs: 100 });
  });

  it("reads perMinute as a rate per second", () => {
    expect(rateLimitOf({ perMinute: 30, burst: 1 })).toEqual({ perSecond: 0.5, burst: 1 });
    expect(rateLimitOf({ perSecond: 3, burst: 4 })).toEqual({ perSecond: 3, burst: 4 });
  });

  it("never starts more than burst + rate × T in any window of T, however it is asked", async () => {
    const timers = manualTimers();
    const buckets = new LocalBuckets(timers.now);
    const limit = { perSecond: 5, burst: 1 };
    const starts: number[] = [];
    let waiting = 300;
    const gate: RateGate = new RateGate(
      "a",
      limit,
      buckets,
      () => drain(),
      () => {},
      timers,
    );
    const drain = () => {
      for (let n = gate.allow(Math.min(waiting, 16)); n > 0; n--, waiting--) starts.push(timers.now());
    };
    drain();
    for (let i = 0; i < 700 && waiting > 0; i++) {
      await flush();
      timers.advance(100);
    }
    expect(waiting).toBe(0);
    // One timer to the next token at a time: no polling.
    expect(timers.pending()).toBeLessThanOrEqual(1);
    for (const start of starts) {
      expect(starts.filter((t) => t >= start && t < start + 10_000).length).toBeLessThanOrEqual(51);
    }
    // 300 at 5/s: the first at once, the last about 60 s later.
    expect(starts.at(-1)! - starts[0]!).toBeGreaterThanOrEqual(59_800);
    expect(starts.at(-1)! - starts[0]!).toBeLessThanOrEqual(60_200);
  });

  it("waits without a token while the bucket cannot be read, and says why", async () => {
    const timers = manualTimers();
    const errors: unknown[] = [];
    let ready = 0;
    const gate = new RateGate(
      "a",
      { perSecond: 1, burst: 1 },
      { take: () => Promise.reject(new Error("store down")) },
      () => ready++,
      (e) => errors.push(e),
      timers,
    );
    expect(gate.allow(1)).toBe(0);
    await flush();
    expect(errors).toHaveLength(1);
    expect(gate.waiting).toBe(true);
    timers.advance(1000);
    expect(ready).toBe(1);
    gate.close();
  });
});
