import { type Action, definePlugin, errorPrefix, httpStatusError, RetryableError } from "@switchyard/core";
import { Pool } from "undici";
import { z } from "zod";

/** "[switchyard] [{{name}}]": every error message starts with it. */
const PREFIX = errorPrefix("{{name}}");

/**
 * The options of the {{name}} plugin, checked when an action is created (bad ones fail the config). Each
 * one's `.describe()` is its documentation: `switchyard schema` carries it to editors.
 */
export const options = z.strictObject({
  url: z
    .url({
      protocol: /^https?$/,
      // A missing url keeps zod's own message, which core turns into `missing option "url"`.
      error: (issue) => (issue.input === undefined ? undefined : "must be an http(s) URL"),
    })
    .describe("where to POST each event"),
  token: z
    .string()
    .min(1)
    .optional()
    .describe("sent as `authorization: Bearer <token>`; it never appears in errors or logs"),
  timeoutMs: z
    .number()
    .int()
    .positive()
    .max(120_000)
    .default(10_000)
    .describe("time allowed for one request; the host's own time budget (about 10 s) applies too"),
});

/** Options as written in the config's `with:`. */
export type Options = z.input<typeof options>;

/**
 * POST each event, as its CloudEvent JSON, to `url`. Statuses follow the rule every bundled plugin shares
 * (core's `classifyHttpStatus`): 2xx is delivered; 408, 409, 425, 429, 5xx, network errors and timeouts are
 * retried (after `Retry-After` when given); any other status is permanent (the delivery is dead-lettered).
 */
const plugin = definePlugin({ name: "{{name}}", options, create: createAction });
export default plugin;

function createAction(resolved: z.output<typeof options>): Action {
  const url = new URL(resolved.url);
  const path = `${url.pathname}${url.search}`;
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (resolved.token) headers.authorization = `Bearer ${resolved.token}`;
  // One keep-alive pool per action, released by close(): the host calls it once when it stops.
  const pool = new Pool(url.origin, {
    connectTimeout: resolved.timeoutMs,
    headersTimeout: resolved.timeoutMs,
    bodyTimeout: resolved.timeoutMs,
  });
  let closing: Promise<void> | undefined;

  return {
    async onExecuteEventStream(event, api) {
      let status: number;
      let retryAfter: string | string[] | undefined;
      try {
        // api.signal aborts the request when the time budget runs out or the host shuts down.
        const response = await pool.request({
          path,
          method: "POST",
          headers: { ...headers, "idempotency-key": event.message.id },
          body: JSON.stringify(event.message),
          signal: api.signal,
        });
        status = response.statusCode;
        retryAfter = response.headers["retry-after"];
        await response.body.dump();
      } catch (error) {
        if (api.signal.aborted)
          throw new RetryableError(`${PREFIX} POST to ${url.host}: aborted by the host`);
        // Name the failure, never the request: its headers hold the token.
        const code = (error as { code?: unknown } | null)?.code;
        const reason =
          typeof code === "string" ? code : error instanceof Error ? error.name : "unknown error";
        throw new RetryableError(`${PREFIX} POST to ${url.host} failed: ${reason}`);
      }

      const failure = httpStatusError(status, `${PREFIX} POST to ${url.host} answered ${status}`, {
        retryAfter,
      });
      if (failure) throw failure;
      api.log.debug(`${PREFIX} delivered`, { status });
    },

    close() {
      closing ??= pool.close();
      return closing;
    },
  };
}
