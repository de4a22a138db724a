import { PermanentError, RetryableError } from "./errors.js";
import { parseRetryAfter } from "./retry.js";

/** What a delivery makes of an HTTP status. */
export type HttpStatusKind = "delivered" | "retryable" | "permanent";

/**
 * The default meaning of an HTTP status for a delivery, as the bundled plugins apply it:
 * - 2xx: delivered;
 * - 408 Request Timeout, 409 Conflict, 425 Too Early, 429 Too Many Requests and every 5xx: retryable
 *   (the same request may succeed later);
 * - 3xx: permanent, since redirects are not followed (a moved endpoint is a config change);
 * - 410 Gone: permanent, the receiver asks to stop sending (as Standard Webhooks recommends);
 * - any other status (other 4xx, 1xx): permanent, resending the same request would fail the same way.
 *
 * A plugin whose destination documents another rule overrides only the statuses it names, and says so
 * beside the override (Segment retries 410 and not 501 or 505).
 */
export function classifyHttpStatus(status: number): HttpStatusKind {
  if (status >= 200 && status < 300) return "delivered";
  if (status >= 500 || RETRYABLE_4XX.has(status)) return "retryable";
  return "permanent";
}

const RETRYABLE_4XX = new Set([408, 409, 425, 429]);

/** Options of `httpStatusError`. */
export interface HttpStatusErrorOptions {
  /** The response's `Retry-After` header (seconds or an HTTP date): sets `retryAfterMs` of a retryable error. */
  retryAfter?: string | readonly string[] | null | undefined;
  /** The rule to apply instead of `classifyHttpStatus`, for a destination that documents its own. */
  classify?: (status: number) => HttpStatusKind;
  cause?: unknown;
}

/**
 * The error to throw for an HTTP answer, or undefined when it counts as delivered. `message` names the
 * request and the status (`[switchyard] [http] POST to example.com answered 503`); a permanent 3xx or 410
 * gets the reason added. Never put header values or secrets in `message`.
 */
export function httpStatusError(
  status: number,
  message: string,
  options: HttpStatusErrorOptions = {},
): RetryableError | PermanentError | undefined {
  const kind = (options.classify ?? classifyHttpStatus)(status);
  if (kind === "delivered") return undefined;
  const details = options.cause === undefined ? { status } : { status, cause: options.cause };
  if (kind === "retryable") {
    const header = options.retryAfter;
    const retryAfterMs = parseRetryAfter(typeof header === "string" || !header ? header : header[0]);
    return new RetryableError(message, { retryAfterMs, ...details });
  }
  if (status === 410)
    return new PermanentError(`${message} (Gone): the receiver asks to stop sending`, details);
  if (status >= 300 && status < 400)
    return new PermanentError(`${message}: redirects are not followed`, details);
  return new PermanentError(message, details);
}
