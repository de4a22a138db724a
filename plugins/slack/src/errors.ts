import { ErrorCode } from "@slack/web-api";
import {
  classifyHttpStatus,
  errorPrefix,
  PermanentError,
  parseRetryAfter,
  RetryableError,
} from "@switchyard/core";

const PREFIX = errorPrefix("slack");

// Slack platform errors (HTTP 200, `ok: false`) that say "try again later"; every other one is a problem with
// the request, the token or the channel (`channel_not_found`, `invalid_auth`, `missing_scope`, …) and retrying
// the same message would fail the same way.
const RETRYABLE_PLATFORM_ERRORS = new Set([
  "ratelimited",
  "rate_limited",
  "internal_error",
  "fatal_error",
  "service_unavailable",
  "request_timeout",
  "team_added_to_org",
]);

/** Why a platform error code is permanent, for the few worth explaining. */
const HINTS: Record<string, string> = {
  channel_not_found: "check the channel name or id",
  not_in_channel: "invite the app to the channel",
  is_archived: "the channel is archived",
  invalid_auth: "check the token",
  not_authed: "no token was sent",
  account_inactive: "the token's user or app was deactivated",
  token_revoked: "the token was revoked",
  token_expired: "the token expired",
  missing_scope: "the token needs the chat:write scope",
  invalid_blocks: "a template returned blocks Slack rejects",
  msg_too_long: "the message text is too long",
  no_text: "the message has no text",
};

/**
 * Turn whatever `chat.postMessage` threw into a `RetryableError` or `PermanentError` that names the Slack error
 * code. The token never appears: messages are built from codes and statuses, and scrubbed once more anyway.
 */
export function toDeliveryError(error: unknown, context: { channel: string; token: string }): Error {
  const mapped = classify(error, context.channel);
  if (context.token && mapped.message.includes(context.token)) {
    const clean = mapped.message.split(context.token).join("[redacted]");
    return mapped instanceof PermanentError
      ? new PermanentError(clean)
      : new RetryableError(clean, { retryAfterMs: (mapped as RetryableError).retryAfterMs });
  }
  return mapped;
}

function classify(error: unknown, channel: string): Error {
  const code = (error as { code?: unknown } | null)?.code;
  switch (code) {
    case ErrorCode.RateLimitedError: {
      const seconds = (error as { retryAfter?: unknown }).retryAfter;
      const retryAfterMs = typeof seconds === "number" && seconds >= 0 ? seconds * 1000 : undefined;
      return new RetryableError(`${PREFIX} rate limited by Slack (HTTP 429, retry after ${seconds} s)`, {
        retryAfterMs,
        cause: error,
      });
    }
    case ErrorCode.PlatformError: {
      const data = (error as { data?: { error?: unknown; response_metadata?: { retryAfter?: unknown } } })
        .data;
      const slackCode = typeof data?.error === "string" ? data.error : "unknown_error";
      if (RETRYABLE_PLATFORM_ERRORS.has(slackCode)) {
        const seconds = data?.response_metadata?.retryAfter;
        return new RetryableError(`${PREFIX} Slack answered "${slackCode}" (channel ${channel})`, {
          retryAfterMs: typeof seconds === "number" ? seconds * 1000 : undefined,
          cause: error,
        });
      }
      const hint = HINTS[slackCode];
      return new PermanentError(
        `${PREFIX} Slack answered "${slackCode}" (channel ${channel})${hint ? `: ${hint}` : ""}`,
        { cause: error },
      );
    }
    case ErrorCode.HTTPError: {
      const { statusCode, headers } = error as { statusCode: number; headers?: Record<string, string> };
      const message = `${PREFIX} Slack answered HTTP ${statusCode}`;
      // Core's default rule (408, 409, 425, 429 and 5xx are retried): Slack documents nothing else.
      if (classifyHttpStatus(statusCode) === "retryable") {
        // A 503 may carry Retry-After too; honour it whenever the server gives one.
        const retryAfterMs = parseRetryAfter(headers?.["retry-after"]);
        return new RetryableError(message, { retryAfterMs, cause: error });
      }
      // Slack answers 200 for its own errors: any other status means a wrong apiUrl or a proxy refusing us.
      return new PermanentError(`${message} (check apiUrl)`, { cause: error });
    }
    case ErrorCode.RequestError: {
      const original = (error as { original?: unknown }).original;
      const why = original instanceof Error ? `${original.name}: ${original.message}` : "network error";
      return new RetryableError(`${PREFIX} request to Slack failed (${why})`, { cause: error });
    }
    default: {
      // The SDK rejects a 429 without a readable Retry-After with a plain Error: still a rate limit.
      const message = error instanceof Error ? error.message : String(error);
      if (/^Retry header did not contain a valid timeout/.test(message)) {
        return new RetryableError(`${PREFIX} rate limited by Slack (HTTP 429, no Retry-After)`, {
          cause: error,
        });
      }
      return new RetryableError(`${PREFIX} posting to Slack failed: ${message}`, { cause: error });
    }
  }
}
