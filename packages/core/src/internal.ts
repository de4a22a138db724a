// `@switchyard/core/internal`: what the host and its bundled plugins share beyond the public API, kept out of
// the main entry so that a plugin author's view of core is the Action contract alone. No stability promise:
// it changes with the host.
import {
  type Action,
  type EventStreamApi,
  type EventStreamEvent,
  type MessageApi,
  receiptStatus,
} from "./action.js";
import { classifyFailure, describeError, RetryableError } from "./errors.js";
import type { Outcome } from "./execute.js";

/**
 * A deadline that several attempts may share: `signal` aborts when it passes (or from outside), and
 * `expired` rejects with the abort reason at the same moment. The host gives the attempts that start within
 * 10 ms one deadline: no controller, timer and listener per attempt, which on the hot path cost about as much
 * as the HTTP request itself.
 */
export interface Deadline {
  readonly signal: AbortSignal;
  readonly expired: Promise<never>;
}

const clock = () => performance.now();

/** `api.message` of one attempt: it remembers whether, and why, the action called `fail`. */
export class AttemptMessage implements MessageApi {
  /** The reason given to `fail`; undefined while it has not been called. */
  failure: string | undefined;

  // An arrow, so that `const { fail } = api.message` works as well.
  readonly fail = (reason?: string): void => {
    this.failure =
      reason === undefined || reason === null || reason === ""
        ? "api.message.fail() was called"
        : String(reason);
  };
}

/**
 * What `runAttempt` asks of an `api` besides the Action contract: the reason `api.message.fail` was called
 * with, read without making `api.message` (the host makes it only when an action looks it up).
 */
export interface AttemptFailure {
  readonly failure: string | undefined;
}

/**
 * The core of `executeAction` for callers that build the whole `api` themselves (the host, which shares
 * deadlines between attempts): run the action until it settles or `expired` rejects. Never throws.
 */
export async function runAttempt(
  action: Action,
  event: EventStreamEvent,
  api: EventStreamApi & AttemptFailure,
  expired: Promise<never>,
  now: () => number = clock,
): Promise<Outcome> {
  const started = now();
  try {
    let result = action.onExecuteEventStream(event, api);
    // A synchronous action that returned is done: no need to race it.
    if (result !== null && typeof (result as Promise<unknown> | undefined)?.then === "function") {
      result = await Promise.race([result, expired]);
    }
    const failure = api.failure;
    if (failure !== undefined) return failed(failure, now() - started);
    const httpStatus = receiptStatus(result);
    return {
      status: "delivered",
      durationMs: now() - started,
      ...(httpStatus !== undefined ? { httpStatus } : {}),
    };
  } catch (error) {
    const durationMs = now() - started;
    // As at Auth0: once `api.message.fail` was called, the attempt is retried with its reason, whatever
    // the action threw after it (real actions call it in their `catch`, and some rethrow).
    const reason = api.failure;
    if (reason !== undefined) return failed(reason, durationMs);
    const failure = classifyFailure(error);
    const message = describeError(error);
    if (failure.kind === "permanent") return { status: "permanent", error, message, durationMs };
    return { status: "retryable", error, message, retryAfterMs: failure.retryAfterMs, durationMs };
  }
}

function failed(reason: string, durationMs: number): Outcome {
  return { status: "retryable", error: new RetryableError(reason), message: reason, durationMs };
}
