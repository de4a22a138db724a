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

/**
 * A deadline that several attempts may share: `signal` aborts when it passes (or from outside), and
 * `expired` rejects with the abort reason at the same moment.
 */
export interface Deadline {
  readonly signal: AbortSignal;
  readonly expired: Promise<never>;
}

export interface ExecuteOptions {
  /** The attempt's time budget (Auth0 gives about 10 s). Unused when `deadline` is given. */
  timeoutMs: number;
  /** Aborts the attempt from outside, e.g. at shutdown. */
  signal?: AbortSignal;
  /** The attempt's own controller, so the caller can abort it. */
  controller?: AbortController;
  /**
   * A deadline shared with other attempts (see the host's deadline windows): no controller, timer or
   * listener of the attempt's own, which on a hot path cost about as much as an HTTP request does.
   */
  deadline?: Deadline;
  now?: () => number;
}

const clock = () => performance.now();

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
  const own = options.deadline ? undefined : ownDeadline(options);
  const { signal, expired } = options.deadline ?? own!;
  try {
    return await runAttempt(action, event, { ...api, signal }, expired, options.now);
  } finally {
    own?.dispose();
  }
}

/**
 * The core of `executeAction` for callers that build the whole `api` themselves (the host, which shares
 * deadlines between attempts): run the action until it settles or `expired` rejects. Never throws.
 */
export async function runAttempt(
  action: Action,
  event: EventStreamEvent,
  api: EventStreamApi,
  expired: Promise<never>,
  now: () => number = clock,
): Promise<Outcome> {
  const started = now();
  try {
    const result = action.onExecuteEventStream(event, api);
    // A synchronous action that returned is done: no need to race it.
    if (result !== null && typeof (result as Promise<unknown> | undefined)?.then === "function") {
      await Promise.race([result, expired]);
    }
    return { status: "delivered", durationMs: now() - started };
  } catch (error) {
    const durationMs = now() - started;
    const failure = classifyFailure(error);
    const message = describeError(error);
    if (failure.kind === "permanent") return { status: "permanent", error, message, durationMs };
    return { status: "retryable", error, message, retryAfterMs: failure.retryAfterMs, durationMs };
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
