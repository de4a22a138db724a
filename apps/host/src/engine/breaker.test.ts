import { PermanentError, RetryableError, TimeoutError } from "@switchyard/core";
import { describe, expect, it } from "vitest";
import { manualTimers } from "../../test/manual-timers.js";
import { type BreakerState, CircuitBreaker, verdictOf } from "./breaker.js";

const failed = (error: unknown) => ({ status: "retryable" as const, error, message: "", durationMs: 1 });

describe("circuit breaker", () => {
  it("counts no answer, timeouts and 5xx as faults; any other answer shows the destination alive", () => {
    expect(verdictOf({ status: "delivered", durationMs: 1 })).toBe("ok");
    expect(verdictOf(failed(new RetryableError("ECONNREFUSED")))).toBe("fault");
    expect(verdictOf(failed(new TimeoutError(100)))).toBe("fault");
    expect(verdictOf(failed(new RetryableError("503", { status: 503 })))).toBe("fault");
    expect(verdictOf(failed(new RetryableError("429", { status: 429, retryAfterMs: 5 })))).toBe("ok");
    const permanent = (error: unknown) => ({
      status: "permanent" as const,
      error,
      message: "",
      durationMs: 1,
    });
    expect(verdictOf(permanent(new PermanentError("400", { status: 400 })))).toBe("ok");
    expect(verdictOf(permanent(new PermanentError("bad event")))).toBe("neutral");
  });

  it("opens after N consecutive faults, lets one probe after the cool-down, and closes on its success", () => {
    const timers = manualTimers();
    const states: BreakerState[] = [];
    let ready = 0;
    const breaker = new CircuitBreaker(
      { failures: 3, coolDownMs: 30_000 },
      () => ready++,
      (s) => states.push(s),
      timers,
    );
    const d = () => ({});
    expect(breaker.capacity()).toBe(Number.POSITIVE_INFINITY);
    // A success between faults resets the count.
    breaker.finished(d(), "fault");
    breaker.finished(d(), "fault");
    breaker.finished(d(), "ok");
    breaker.finished(d(), "fault");
    breaker.finished(d(), "fault");
    expect(breaker.state).toBe("closed");
    breaker.finished(d(), "fault");
    expect(breaker.state).toBe("open");
    expect(breaker.capacity()).toBe(0);
    timers.advance(29_999);
    expect(breaker.capacity()).toBe(0);
    expect(ready).toBe(0);
    timers.advance(1);
    expect(ready).toBe(1);
    expect(breaker.capacity()).toBe(1);
    const probe = d();
    breaker.started(probe);
    expect(breaker.state).toBe("half-open");
    expect(breaker.capacity()).toBe(0);
    // A fault of an attempt that started before the breaker opened is not the probe's.
    breaker.finished(d(), "fault");
    expect(breaker.state).toBe("half-open");
    breaker.finished(probe, "fault");
    expect(breaker.state).toBe("open");
    timers.advance(30_000);
    const second = d();
    expect(breaker.capacity()).toBe(1);
    breaker.started(second);
    breaker.finished(second, "ok");
    expect(breaker.state).toBe("closed");
    expect(breaker.capacity()).toBe(Number.POSITIVE_INFINITY);
    expect(states).toEqual(["open", "half-open", "open", "half-open", "closed"]);
  });

  it("lets the next delivery probe when the probe's attempt says nothing", () => {
    const timers = manualTimers();
    const breaker = new CircuitBreaker({ failures: 1, coolDownMs: 10 }, () => {}, undefined, timers);
    breaker.finished({}, "fault");
    timers.advance(10);
    const probe = {};
    expect(breaker.capacity()).toBe(1);
    breaker.started(probe);
    breaker.finished(probe, "neutral");
    expect(breaker.state).toBe("half-open");
    expect(breaker.capacity()).toBe(1);
  });
});
