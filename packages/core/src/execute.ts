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
  const controller = new AbortController();
  const onOuterAbort = () => controller.abort(options.signal?.reason);
  options.signal?.addEventListener("abort", onOuterAbort, { once: true });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new TimeoutError(options.timeoutMs);
      controller.abort(error);
      reject(error);
    }, options.timeoutMs);
  });
  const aborted = new Promise<never>((_, reject) => {
    controller.signal.addEventListener("abort", () => reject(controller.signal.reason), { once: true });
  });
  try {
    await Promise.race([
      Promise.resolve().then(() => action.onExecuteEventStream(event, { ...api, signal: controller.signal })),
      deadline,
      aborted,
    ]);
    return { status: "delivered", durationMs: now() - started };
  } catch (error) {
    const durationMs = now() - started;
    const failure = classifyFailure(error);
    const message = describeError(error);
    if (failure.kind === "permanent") return { status: "permanent", error, message, durationMs };
    return { status: "retryable", error, message, retryAfterMs: failure.retryAfterMs, durationMs };
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onOuterAbort);
    // Nobody awaits these once the race is settled: keep them from surfacing as unhandled rejections.
    deadline.catch(() => {});
    aborted.catch(() => {});
  }
}
