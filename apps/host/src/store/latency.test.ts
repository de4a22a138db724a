import { describe, expect, it } from "vitest";
import { LATENCY_BOUNDS, LATENCY_COLUMNS, latencyBucket, latencyQuantile, minuteBuckets } from "./history.js";

const histogram = (entries: Record<number, number>) => LATENCY_COLUMNS.map((_, i) => entries[i] ?? 0);

describe("latency histogram", () => {
  it("puts each duration in the first bucket whose bound holds it, the longest past every bound", () => {
    expect(latencyBucket(0)).toBe(0);
    expect(latencyBucket(5)).toBe(0);
    expect(latencyBucket(5.01)).toBe(1);
    expect(latencyBucket(10_000)).toBe(LATENCY_BOUNDS.length - 1);
    expect(latencyBucket(10_001)).toBe(LATENCY_BOUNDS.length);
  });

  it("estimates quantiles within a bucket, linearly, as Prometheus does", () => {
    expect(latencyQuantile(histogram({}), 0.5)).toBeUndefined();
    // 100 attempts in (50, 100]: the median halfway through it, p99 near its top.
    expect(latencyQuantile(histogram({ 4: 100 }), 0.5)).toBe(75);
    expect(latencyQuantile(histogram({ 4: 100 }), 0.99)).toBeCloseTo(99.5);
    // 99 fast ones and one past every bound: p50 fast, p99 at the fast bucket's top, p100 the last bound.
    const skewed = histogram({ 0: 99, [LATENCY_BOUNDS.length]: 1 });
    expect(latencyQuantile(skewed, 0.5)).toBeCloseTo(2.525);
    expect(latencyQuantile(skewed, 0.99)).toBe(5);
    expect(latencyQuantile(skewed, 1)).toBe(10_000);
  });

  it("counts a batch's attempts that ran, per action and minute", () => {
    const base = { eventId: "e", eventType: "user.created", attempt: 1, replica: "r" } as const;
    const [x] = minuteBuckets([
      { ...base, action: "x", startedAt: 60_000, durationMs: 7, outcome: "delivered" },
      { ...base, action: "x", startedAt: 60_001, durationMs: 700, outcome: "retrying" },
      { ...base, action: "x", startedAt: 60_002, durationMs: 0, outcome: "stale" },
    ]);
    expect(x!.latency).toEqual(histogram({ 1: 1, 7: 1 }));
  });

  it("splits a batch's buckets per tenant (none is `default`), in key order: minute, action, tenant", () => {
    const base = { eventId: "e", eventType: "user.created", attempt: 1, replica: "r" } as const;
    const buckets = minuteBuckets([
      { ...base, action: "y", startedAt: 60_000, durationMs: 1, outcome: "delivered", tenant: "prod" },
      { ...base, action: "x", startedAt: 60_001, durationMs: 2, outcome: "delivered", tenant: "prod" },
      { ...base, action: "x", startedAt: 60_002, durationMs: 3, outcome: "dead" },
      { ...base, action: "x", startedAt: 60_003, durationMs: 4, outcome: "delivered", tenant: "default" },
      { ...base, action: "x", startedAt: 0, durationMs: 5, outcome: "delivered", tenant: "prod" },
    ]);
    expect(
      buckets.map(({ minute, action, tenant, delivered, dead }) => ({
        minute,
        action,
        tenant,
        delivered,
        dead,
      })),
    ).toEqual([
      { minute: 0, action: "x", tenant: "prod", delivered: 1, dead: 0 },
      { minute: 60_000, action: "x", tenant: "default", delivered: 1, dead: 1 },
      { minute: 60_000, action: "x", tenant: "prod", delivered: 1, dead: 0 },
      { minute: 60_000, action: "y", tenant: "prod", delivered: 1, dead: 0 },
    ]);
  });
});
