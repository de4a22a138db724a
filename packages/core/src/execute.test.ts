import { describe, expect, it } from "vitest";
import type { Action } from "./action.js";
import { createActionCache } from "./cache.js";
import { PermanentError, RetryableError, TimeoutError } from "./errors.js";
import type { Auth0Event } from "./events.js";
import { executeAction } from "./execute.js";
import { AttemptMessage, runAttempt } from "./internal.js";

const event = { message: { id: "evt_1", type: "user.created" } as Auth0Event, secrets: { KEY: "s3cret" } };
const noop = () => {};
const api = {
  cache: createActionCache(),
  log: { debug: noop, info: noop, warn: noop, error: noop },
  attempt: 1,
  action: { name: "test" },
};
const run = (action: Action["onExecuteEventStream"], timeoutMs = 1_000, signal?: AbortSignal) =>
  executeAction({ onExecuteEventStream: action }, event, api, { timeoutMs, ...(signal ? { signal } : {}) });

describe("executeAction", () => {
  it("counts a return as delivered, with the event and secrets passed through", async () => {
    let seen: unknown;
    const outcome = await run((e, a) => {
      seen = [e.message.id, e.secrets.KEY, a.attempt, a.signal.aborted];
    });
    expect(outcome.status).toBe("delivered");
    expect(seen).toEqual(["evt_1", "s3cret", 1, false]);
  });

  it("keeps the HTTP status a delivered action's receipt names, and nothing else it returns", async () => {
    expect(await run(async () => ({ status: 202 }))).toEqual({
      status: "delivered",
      durationMs: expect.any(Number),
      httpStatus: 202,
    });
    expect(await run(() => ({ status: 204 }))).toMatchObject({ httpStatus: 204 });
    for (const value of [undefined, null, "ok", 200, { status: "200" }, { status: 42 }, { status: 200.5 }]) {
      expect(await run(async () => value)).not.toHaveProperty("httpStatus");
    }
  });

  it("classifies failures", async () => {
    expect((await run(() => Promise.reject(new Error("boom")))).status).toBe("retryable");
    expect(
      await run(() => {
        throw new RetryableError("slow down", { retryAfterMs: 1234 });
      }),
    ).toMatchObject({ status: "retryable", retryAfterMs: 1234, message: "RetryableError: slow down" });
    expect(
      await run(async () => {
        throw new PermanentError("bad request");
      }),
    ).toMatchObject({ status: "permanent", message: "PermanentError: bad request" });
    expect((await run(() => Promise.reject("a string"))).status).toBe("retryable");
  });

  it("recognises errors by code across copies of core", async () => {
    const foreign = Object.assign(new Error("gone"), { code: "PERMANENT" });
    expect((await run(() => Promise.reject(foreign))).status).toBe("permanent");
  });

  it("cuts off an action that hangs at its time budget and aborts its signal", async () => {
    let signal: AbortSignal | undefined;
    const outcome = await run((_e, a) => {
      signal = a.signal;
      return new Promise(() => {});
    }, 20);
    expect(outcome).toMatchObject({
      status: "retryable",
      message: expect.stringMatching(/20 ms time budget/),
    });
    expect(signal?.aborted).toBe(true);
  });

  it("stops when the outer signal aborts", async () => {
    const controller = new AbortController();
    const pending = run(() => new Promise(() => {}), 60_000, controller.signal);
    controller.abort(new Error("shutting down"));
    expect(await pending).toMatchObject({ status: "retryable", message: "Error: shutting down" });
  });
});

describe("api.message.fail", () => {
  it("fails the attempt with its reason, to be retried, when the action then returns", async () => {
    const outcome = await run(async (_e, a) => {
      try {
        throw new Error("SCIM server said 503");
      } catch {
        a.message.fail("could not provision the user");
      }
    });
    expect(outcome).toMatchObject({ status: "retryable", message: "could not provision the user" });
    expect(outcome.status === "retryable" && outcome.error).toBeInstanceOf(RetryableError);
  });

  it("keeps its reason, retryable, when the action then throws, even a permanent error", async () => {
    const outcome = await run((_e, a) => {
      a.message.fail("upstream refused");
      throw new PermanentError("thrown after fail");
    });
    expect(outcome).toMatchObject({ status: "retryable", message: "upstream refused" });
  });

  it("works detached and without a reason", async () => {
    const outcome = await run((_e, a) => {
      const { fail } = a.message;
      fail();
    });
    expect(outcome).toMatchObject({ status: "retryable", message: "api.message.fail() was called" });
  });
});

describe("runAttempt", () => {
  it("passes the caller's api as it is, and stops waiting when a shared deadline expires", async () => {
    const controller = new AbortController();
    let cancel!: (reason: unknown) => void;
    const expired = new Promise<never>((_, reject) => {
      cancel = reject;
    });
    expired.catch(() => {});
    const full = { ...api, signal: controller.signal, message: new AttemptMessage(), failure: undefined };
    let seen: unknown;
    const hanging = runAttempt(
      {
        onExecuteEventStream: (_e, a) => {
          seen = a;
          return new Promise(() => {});
        },
      },
      event,
      full,
      expired,
    );
    const quick = runAttempt({ onExecuteEventStream: () => {} }, event, full, expired);
    expect(await quick).toMatchObject({ status: "delivered" });
    cancel(new TimeoutError(50));
    expect(await hanging).toMatchObject({ status: "retryable", message: expect.stringMatching(/50 ms/) });
    expect(seen).toBe(full);
  });
});
