import type { Action, EventStreamApi, EventStreamEvent } from "./action.js";
import { classifyFailure, describeError, TimeoutError } from "./errors.js";

/** The result of one delivery attempt. */
export type Outcome =
  | { status: "delivered"; durationMs: number }
  | {
      status: "retryable";
      error: unknown;
      message: string;
      retryAfterMs?: number | undefined;
      durationMs: number;
    }
  | { status: "permanent"; error: unknown; message: string; durationMs: number };

export interface ExecuteOptions {
  /** The attempt's time budget (Auth0 gives about 10 s). */
  timeoutMs: number;
  /** Aborts the attempt from outside, e.g. at shutdown. */
  signal?: AbortSignal;
  /**
   * The attempt's own controller, for callers that abort many attempts at once (a host shutting down):
   * cheaper than one listener per attempt on a shared signal.
   */
  controller?: AbortController;
  now?: () => number;
}

/**
 * Run one attempt of an action within its time budget and classify what happened. Never throws. An action
 * that ignores the abort signal and hangs is abandoned at the deadline; its late result is discarded.
 */
export async function executeAction(
  action: Action,
  event: EventStreamEvent,
  api: Omit<EventStreamApi, "signal">,
  options: ExecuteOptions,
): Promise<Outcome> {
  const now = options.now ?? performance.now.bind(performance);
  const started = now();
  const controller = options.controller ?? new AbortController();
  const signal = controller.signal;
  const outer = options.signal;
  const onOuterAbort = () => controller.abort(outer?.reason);
  if (outer?.aborted) controller.abort(outer.reason);
  else outer?.addEventListener("abort", onOuterAbort, { once: true });
  // One promise settles the race when the attempt is aborted, by its deadline or from outside.
  let cancel!: (reason: unknown) => void;
  const cancelled = new Promise<never>((_, reject) => {
    cancel = reject;
  });
  const onAbort = () => cancel(signal.reason);
  if (signal.aborted) onAbort();
  else signal.addEventListener("abort", onAbort, { once: true });
  const timer = setTimeout(() => controller.abort(new TimeoutError(options.timeoutMs)), options.timeoutMs);
  try {
    const result = action.onExecuteEventStream(event, { ...api, signal });
    // A synchronous action that returned is done: no need to race it.
    if (result !== null && typeof (result as Promise<unknown> | undefined)?.then === "function") {
      await Promise.race([result, cancelled]);
    }
    return { status: "delivered", durationMs: now() - started };
  } catch (error) {
    const durationMs = now() - started;
    const failure = classifyFailure(error);
    const message = describeError(error);
    if (failure.kind === "permanent") return { status: "permanent", error, message, durationMs };
    return { status: "retryable", error, message, retryAfterMs: failure.retryAfterMs, durationMs };
  } finally {
    clearTimeout(timer);
    signal.removeEventListener("abort", onAbort);
    outer?.removeEventListener("abort", onOuterAbort);
    // Nobody awaits it once the race is settled: keep it from surfacing as an unhandled rejection.
    cancelled.catch(() => {});
  }
}
