import { errorPrefix, SwitchyardError } from "@switchyard/core";

/**
 * Why the stream stopped (terminal codes: `UNAUTHORIZED`, `FORBIDDEN`, `BAD_REQUEST`, `NOT_FOUND`,
 * `CURSOR_EXPIRED`, `INVALID_CURSOR`, `HTTP_<status>`) or why it is reconnecting (reported to `hooks.onError`:
 * `NETWORK`, `IDLE`, `EOF`, `ERROR_FRAME`, `HTTP_<status>`, `TOKEN`, `MALFORMED` for skipped frames).
 * The message says what to do; it never contains a token or a secret.
 */
export class StreamError extends SwitchyardError {
  /** True when the client retries by itself; false when the iterator throws it. */
  readonly retryable: boolean;
  /** HTTP status of the response that caused it, when there was one. */
  readonly status: number | undefined;
  /** Delay the server asked for (`Retry-After`), when it did. */
  readonly retryAfterMs: number | undefined;
  constructor(
    code: string,
    message: string,
    options: {
      retryable?: boolean;
      status?: number;
      retryAfterMs?: number | undefined;
      cause?: unknown;
    } = {},
  ) {
    super(code, `${errorPrefix("auth0-events")} ${message}`, { cause: options.cause });
    this.retryable = options.retryable ?? false;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
  }
}
