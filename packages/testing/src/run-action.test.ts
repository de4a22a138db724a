import { createActionCache, PermanentError, RetryableError } from "@switchyard/core";
import { describe, expect, it } from "vitest";
import { events } from "./factories.js";
import { runAction } from "./run-action.js";

describe("runAction", () => {
  it("passes Auth0's event and api, and captures logs", async () => {
    const event = events.userCreated({ email: "ada@example.com" });
    const cache = createActionCache();
    const result = await runAction(
      {
        onExecuteEventStream(e, api) {
          api.cache.set("seen", e.message.id);
          api.log.info("hello", { email: (e.message.data.object as { email?: string }).email });
          api.log.debug("plain");
          expect(e.secrets).toEqual({ KEY: "v" });
          expect(api.attempt).toBe(3);
          expect(api.action.name).toBe("mine");
          expect(api.signal.aborted).toBe(false);
        },
      },
      event,
      { secrets: { KEY: "v" }, attempt: 3, cache, name: "mine" },
    );
    expect(result).toMatchObject({ status: "delivered" });
    expect(result.message).toBeUndefined();
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
    expect(result.logs).toEqual([
      { level: "info", message: "hello", fields: { email: "ada@example.com" } },
      { level: "debug", message: "plain" },
    ]);
    expect(cache.get("seen")?.value).toBe(event.id);
  });

  it("classifies failures and keeps the error", async () => {
    const retry = await runAction(
      {
        onExecuteEventStream: () => {
          throw new RetryableError("later", { retryAfterMs: 1500 });
        },
      },
      events.userCreated(),
    );
    expect(retry).toMatchObject({
      status: "retryable",
      retryAfterMs: 1500,
      message: "RetryableError: later",
    });
    expect(retry.error).toBeInstanceOf(RetryableError);
    const permanent = await runAction(
      { onExecuteEventStream: () => Promise.reject(new PermanentError("no")) },
      events.userCreated(),
    );
    expect(permanent).toMatchObject({ status: "permanent", message: "PermanentError: no" });
    expect("retryAfterMs" in permanent).toBe(false);
  });

  it("enforces the time budget and aborts api.signal", async () => {
    let aborted = false;
    const result = await runAction(
      {
        onExecuteEventStream: (_e, api) =>
          new Promise((resolve) => {
            api.signal.addEventListener("abort", () => {
              aborted = true;
              resolve(undefined);
            });
          }),
      },
      events.userCreated(),
      { timeoutMs: 50 },
    );
    expect(result.status).toBe("retryable");
    expect(result.message).toMatch(/50 ms time budget/);
    expect(aborted).toBe(true);
  });
});
