import {
  type Action,
  type ActionCache,
  type Auth0Event,
  createActionCache,
  executeAction,
  type Logger,
  type TraceContext,
} from "@switchyard/core";

/** One line an action logged through `api.log`. */
export interface CapturedLog {
  level: "debug" | "info" | "warn" | "error";
  message: string;
  fields?: Record<string, unknown>;
}

export interface RunActionOptions {
  /** `event.secrets` (default none). */
  secrets?: Record<string, string>;
  /** The attempt's time budget (default 10 000 ms, as at Auth0). */
  timeoutMs?: number;
  /** `api.attempt` (default 1). */
  attempt?: number;
  /** `api.cache`; pass the same one to several runs to keep entries between them (default a fresh one). */
  cache?: ActionCache;
  /** `api.action.name` (default "run-action"). */
  name?: string;
  /** Aborts the attempt from outside, like a host shutting down. */
  signal?: AbortSignal;
  /** `api.trace`: the attempt's W3C trace context, as a host exporting traces hands it (default none). */
  trace?: TraceContext;
}

/** What one run of an action gave, with everything it logged. */
export interface RunActionResult {
  status: "delivered" | "retryable" | "permanent";
  /** Delivered: the destination's HTTP status, when the action resolved to a `DeliveryReceipt` naming it. */
  httpStatus?: number;
  message?: string;
  retryAfterMs?: number;
  durationMs: number;
  logs: CapturedLog[];
  error?: unknown;
}

/** A logger that keeps every line in `logs`. */
export function createCapturingLogger(logs: CapturedLog[] = []): Logger & { logs: CapturedLog[] } {
  const line =
    (level: CapturedLog["level"]) =>
    (message: string, fields?: Record<string, unknown>): void => {
      logs.push(fields === undefined ? { level, message } : { level, message, fields });
    };
  return { logs, debug: line("debug"), info: line("info"), warn: line("warn"), error: line("error") };
}

/**
 * Run one attempt of `action` on `event` the way the host does (Auth0's `event`/`api`, a time budget, failure
 * classification) and return the outcome with the captured logs. Never throws.
 */
export async function runAction(
  action: Action,
  event: Auth0Event,
  options: RunActionOptions = {},
): Promise<RunActionResult> {
  const log = createCapturingLogger();
  const outcome = await executeAction(
    action,
    { message: event, secrets: Object.freeze({ ...options.secrets }) },
    {
      cache: options.cache ?? createActionCache(),
      log,
      attempt: options.attempt ?? 1,
      action: { name: options.name ?? "run-action" },
      ...(options.trace ? { trace: options.trace } : {}),
    },
    { timeoutMs: options.timeoutMs ?? 10_000, ...(options.signal ? { signal: options.signal } : {}) },
  );
  const result: RunActionResult = { status: outcome.status, durationMs: outcome.durationMs, logs: log.logs };
  if (outcome.status === "delivered" && outcome.httpStatus !== undefined) {
    result.httpStatus = outcome.httpStatus;
  }
  if (outcome.status !== "delivered") {
    result.message = outcome.message;
    result.error = outcome.error;
  }
  if (outcome.status === "retryable" && outcome.retryAfterMs !== undefined) {
    result.retryAfterMs = outcome.retryAfterMs;
  }
  return result;
}
