import { describe, expect, it } from "vitest";
import { backoffDelay, parseRetryAfter } from "./retry.js";

describe("backoffDelay", () => {
  it("grows exponentially up to the ceiling, with full jitter", () => {
    const opts = { initialMs: 100, maxMs: 1_000 };
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(n, opts, () => 1))).toEqual([100, 200, 400, 800, 1_000]);
    expect(backoffDelay(3, opts, () => 0)).toBe(0);
    expect(backoffDelay(3, opts, () => 0.5)).toBe(200);
  });

  it("never goes below the floor", () => {
    expect(backoffDelay(1, { initialMs: 100, maxMs: 10_000, floorMs: 2_000 }, () => 0)).toBe(2_000);
  });
});

describe("parseRetryAfter", () => {
  it("reads seconds and HTTP dates", () => {
    expect(parseRetryAfter("3")).toBe(3_000);
    expect(parseRetryAfter("0.5")).toBe(500);
    const now = Date.parse("2026-11-27T00:00:00Z");
    expect(parseRetryAfter("Fri, 27 Nov 2026 00:00:10 GMT", now)).toBe(10_000);
    expect(parseRetryAfter("Fri, 27 Nov 2026 00:00:00 GMT", now + 5_000)).toBe(0);
  });

  it("ignores what it cannot read", () => {
    expect(parseRetryAfter(undefined)).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter("")).toBeUndefined();
    expect(parseRetryAfter("soon")).toBeUndefined();
  });
});
