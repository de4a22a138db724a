import {
  classifyHttpStatus,
  describeError,
  errorPrefix,
  PermanentError,
  RetryableError,
} from "@switchyard/core";
import type { HttpFailure } from "./http-client.js";

const PREFIX = errorPrefix("segment");

/**
 * Whether Segment's answer is worth retrying: core's default rule (`classifyHttpStatus`), except where
 * Segment documents its own (5xx except 501 and 505, and 408, 410, 429; other 4xx are permanent).
 */
export function isRetryableStatus(status: number): boolean {
  // Segment retries 410 Gone, which core's default takes as "stop sending".
  if (status === 410) return true;
  // Segment never retries 501, 505 nor the 4xx outside its list, which core's default retries.
  if (status === 501 || status === 505 || status === 409 || status === 425) return false;
  return classifyHttpStatus(status) === "retryable";
}

/**
 * Turn the SDK's report of a failed message into a typed error. `response` is what our HTTP client saw; without
 * it the status is read from the SDK's `"[503] …"` message, and anything else (network error, timeout, close)
 * is retryable, except a message too big for Segment, which will never fit.
 */
export function classifySegmentFailure(
  reason: unknown,
  call: { type: string; messageId: string },
  response?: HttpFailure,
): RetryableError | PermanentError {
  const what = `the ${call.type} call (messageId ${call.messageId})`;
  const message = reason instanceof Error ? reason.message : String(reason);
  const status = response?.status ?? Number(/^\[(\d{3})\]/.exec(message)?.[1] ?? Number.NaN);
  if (Number.isInteger(status)) {
    const text = status === 401 || status === 403 ? "(is the write key right?)" : "";
    const description = `${PREFIX} Segment answered ${status} to ${what} ${text}`.trim();
    return isRetryableStatus(status)
      ? new RetryableError(description, { retryAfterMs: response?.retryAfterMs, cause: reason })
      : new PermanentError(description, { cause: reason });
  }
  if (/exceeds maximum event size/i.test(message)) {
    return new PermanentError(`${PREFIX} ${what} is larger than Segment's 32 KB limit per message`, {
      cause: reason,
    });
  }
  return new RetryableError(`${PREFIX} could not send ${what} to Segment: ${describeError(reason)}`, {
    cause: reason,
  });
}
