import { describeError, PermanentError, RetryableError } from "./errors.js";
import { classifyHttpStatus } from "./http-status.js";

/**
 * Error names AWS services use for "slow down" (EventBridge `ThrottlingException`, SQS `RequestThrottled`,
 * and their kin across services) and for credentials that expired and will be refreshed: worth a retry.
 */
const RETRYABLE_NAMES = new Set([
  "ThrottlingException",
  "Throttling",
  "ThrottledException",
  "RequestThrottled",
  "RequestThrottledException",
  "TooManyRequestsException",
  "RequestLimitExceeded",
  "SlowDown",
  "InternalFailure",
  "InternalError",
  "ServiceUnavailable",
  "ExpiredToken",
  "ExpiredTokenException",
  "RequestExpired",
  "RequestTimeout",
  "RequestTimeoutException",
  "TimeoutError",
  "KmsThrottled",
]);

/** An AWS per-entry error code (e.g. `PutEvents`' `ErrorCode`) that is worth sending again. */
export function isRetryableAwsCode(code: string): boolean {
  return RETRYABLE_NAMES.has(code) || RETRYABLE_NAMES.has(code.replace(/^AWS\.SimpleQueueService\./, ""));
}

/**
 * The typed failure for an error thrown by an AWS SDK v3 client (read by shape, so core never imports the
 * SDK): throttling, 5xx, expired credentials and anything that never got an answer (network, timeout) are
 * retryable; other answers follow `classifyHttpStatus` (400 validation, 403 access denied, 404 no such
 * resource are permanent). `what` names the call, e.g. `[switchyard] [sqs] SendMessageBatch to queue x`.
 */
export function awsSdkError(error: unknown, what: string): RetryableError | PermanentError {
  const shape = (typeof error === "object" && error !== null ? error : {}) as {
    name?: unknown;
    $metadata?: { httpStatusCode?: unknown };
  };
  const name = typeof shape.name === "string" ? shape.name : "Error";
  const status = shape.$metadata?.httpStatusCode;
  if (typeof status !== "number") {
    // No answer: a network error or a timeout, except a client that cannot even start (no region).
    if (error instanceof Error && /region is missing/i.test(error.message)) {
      return new PermanentError(`${what}: no AWS region (set "region" or AWS_REGION)`, { cause: error });
    }
    return new RetryableError(`${what} failed: ${describeError(error)}`, { cause: error });
  }
  const text = `${what} failed: ${name} (HTTP ${status})`;
  if (RETRYABLE_NAMES.has(name) || classifyHttpStatus(status) === "retryable") {
    return new RetryableError(text, { status, cause: error });
  }
  return new PermanentError(text, { status, cause: error });
}
