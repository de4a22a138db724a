import { describe, expect, it } from "vitest";
import { PermanentError, RetryableError } from "./errors.js";
import { classifyHttpStatus, type HttpStatusKind, httpStatusError } from "./http-status.js";

describe("classifyHttpStatus", () => {
  it.each<[number, HttpStatusKind]>([
    [200, "delivered"],
    [202, "delivered"],
    [204, "delivered"],
    [299, "delivered"],
    [301, "permanent"],
    [302, "permanent"],
    [304, "permanent"],
    [307, "permanent"],
    [400, "permanent"],
    [401, "permanent"],
    [403, "permanent"],
    [404, "permanent"],
    [408, "retryable"],
    [409, "retryable"],
    [410, "permanent"],
    [413, "permanent"],
    [422, "permanent"],
    [425, "retryable"],
    [429, "retryable"],
    [500, "retryable"],
    [501, "retryable"],
    [502, "retryable"],
    [503, "retryable"],
    [505, "retryable"],
    [599, "retryable"],
    [101, "permanent"],
  ])("%i is %s", (status, kind) => {
    expect(classifyHttpStatus(status)).toBe(kind);
  });
});

describe("httpStatusError", () => {
  const message = "[switchyard] [test] POST to example.com answered";

  it("is undefined for a delivered status", () => {
    expect(httpStatusError(204, `${message} 204`)).toBeUndefined();
  });

  it("makes a RetryableError that honours Retry-After in seconds or as a date", () => {
    const seconds = httpStatusError(429, `${message} 429`, { retryAfter: "7" });
    expect(seconds).toBeInstanceOf(RetryableError);
    expect(seconds).toMatchObject({ message: `${message} 429`, retryAfterMs: 7_000 });

    const at = new Date(Date.now() + 60_000).toUTCString();
    const date = httpStatusError(503, `${message} 503`, { retryAfter: [at, "1"] }) as RetryableError;
    expect(date.retryAfterMs).toBeGreaterThan(55_000);
    expect(date.retryAfterMs).toBeLessThanOrEqual(60_000);

    expect(httpStatusError(502, `${message} 502`)).toMatchObject({ retryAfterMs: undefined });
    expect(httpStatusError(502, `${message} 502`, { retryAfter: "soon" })).toMatchObject({
      retryAfterMs: undefined,
    });
  });

  it("makes a PermanentError, saying why for 410 and redirects", () => {
    const gone = httpStatusError(410, `${message} 410`);
    expect(gone).toBeInstanceOf(PermanentError);
    expect(gone?.message).toBe(`${message} 410 (Gone): the receiver asks to stop sending`);
    expect(httpStatusError(301, `${message} 301`)?.message).toBe(
      `${message} 301: redirects are not followed`,
    );
    const bad = httpStatusError(400, `${message} 400`, { retryAfter: "7" });
    expect(bad).toBeInstanceOf(PermanentError);
    expect(bad?.message).toBe(`${message} 400`);
  });

  it("carries the status, for the host's delivery history", () => {
    expect(httpStatusError(503, `${message} 503`)?.status).toBe(503);
    expect(httpStatusError(410, `${message} 410`)?.status).toBe(410);
    expect(new RetryableError("no answer").status).toBeUndefined();
  });

  it("applies a destination's own rule and keeps the cause", () => {
    const cause = new Error("the response");
    // A destination that documents retrying 410 (as Segment does).
    const classify = (status: number): HttpStatusKind =>
      status === 410 ? "retryable" : classifyHttpStatus(status);
    const gone = httpStatusError(410, `${message} 410`, { classify, retryAfter: "2", cause });
    expect(gone).toBeInstanceOf(RetryableError);
    expect(gone).toMatchObject({ message: `${message} 410`, retryAfterMs: 2_000, cause });
    expect(httpStatusError(404, `${message} 404`, { classify, cause })).toMatchObject({ cause });
  });
});
