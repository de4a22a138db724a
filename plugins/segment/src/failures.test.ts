import { PermanentError, RetryableError } from "@switchyard/core";
import { describe, expect, it } from "vitest";
import { classifySegmentFailure, isRetryableStatus } from "./failures.js";

describe("isRetryableStatus", () => {
  it("follows Segment's documented rule where it differs from core's default", () => {
    // 410 is retried (core: permanent); 409, 425, 501 and 505 are not (core: retryable).
    expect([410, 409, 425, 501, 505].map(isRetryableStatus)).toEqual([true, false, false, false, false]);
  });

  it("follows core's default elsewhere", () => {
    expect([408, 429, 500, 502, 503, 504, 599].every(isRetryableStatus)).toBe(true);
    expect([301, 400, 401, 403, 404, 413, 422].some(isRetryableStatus)).toBe(false);
  });
});

describe("classifySegmentFailure", () => {
  const call = { type: "track", messageId: "evt_1" };

  it("reads the status from what the HTTP client saw, with its Retry-After", () => {
    const error = classifySegmentFailure(new Error("[410] Gone"), call, { status: 410, retryAfterMs: 3_000 });
    expect(error).toBeInstanceOf(RetryableError);
    expect(error).toMatchObject({
      message: "[switchyard] [segment] Segment answered 410 to the track call (messageId evt_1)",
      retryAfterMs: 3_000,
    });
  });

  it("reads the status from the SDK's message without a response", () => {
    const error = classifySegmentFailure(new Error("[403] Forbidden"), call);
    expect(error).toBeInstanceOf(PermanentError);
    expect(error.message).toMatch(/answered 403 .*\(is the write key right\?\)$/);
    expect(classifySegmentFailure(new Error("[501] Not Implemented"), call)).toBeInstanceOf(PermanentError);
  });
});
