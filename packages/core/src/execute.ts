import type { Action, EventStreamApi, EventStreamEvent } from "./action.js";
import { TimeoutError } from "./errors.js";
import { AttemptMessage, type Deadline, runAttempt } from "./internal.js";

/** The result of one delivery attempt. */
export type Outcome =
  /** `httpStatus`: the destination's, when the action resolved to a `DeliveryReceipt` naming it. */
  | { status: "delivered"; durationMs: number; httpStatus?: number }
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
  /** The attempt's own controller, so the caller can abort it. */
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
  api: Omit<EventStreamApi, "signal" | "message">,
  options: ExecuteOptions,
): Promise<Outcome> {
  const { signal, expired, dispose } = ownDeadline(options);
  const message = new AttemptMessage();
  const full = {
    ...api,
    signal,
    message,
    get failure() {
      return message.failure;
    },
  };
  try {
    return await runAttempt(action, event, full, expired, options.now);
  } finally {
    dispose();
  }
}

/** A deadline for one attempt: its own controller and timer, and the caller's signal forwarded. */
function ownDeadline(options: ExecuteOptions): Deadline & { dispose(): void } {
  const controller = options.controller ?? new AbortController();
  const signal = controller.signal;
  const outer = options.signal;
  const onOuterAbort = () => controller.abort(outer?.reason);
  if (outer?.aborted) controller.abort(outer.reason);
  else outer?.addEventListener("abort", onOuterAbort, { once: true });
  let cancel!: (reason: unknown) => void;
  const expired = new Promise<never>((_, reject) => {
    cancel = reject;
  });
  // Nobody awaits it once the race is settled: keep it from surfacing as an unhandled rejection.
  expired.catch(() => {});
  const onAbort = () => cancel(signal.reason);
  if (signal.aborted) onAbort();
  else signal.addEventListener("abort", onAbort, { once: true });
  const timer = setTimeout(() => controller.abort(new TimeoutError(options.timeoutMs)), options.timeoutMs);
  return {
    signal,
    expired,
    dispose() {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      outer?.removeEventListener("abort", onOuterAbort);
    },
  };
}
