import { type Auth0Event, patternError } from "@switchyard/core";
import { z } from "zod";
import type { SlackMessage } from "./message.js";

/** A template as a function (from JS/TS config): return the message, or just its text. */
export type TemplateFunction = (event: Auth0Event) => SlackMessage | string | Promise<SlackMessage | string>;

/** Options of the Slack plugin. */
export interface SlackOptions {
  /** Bot token (`xoxb-…`) with the `chat:write` scope. */
  token: string;
  /** Channel id or name for every event, or a map from event pattern (`*`, `user.*`, exact type) to channel. */
  channel: string | Record<string, string>;
  /** Base URL of Slack's Web API (default `https://slack.com/api/`). */
  apiUrl?: string;
  /** Message per event type or pattern: a function, or a string with `{{path.to.field}}` placeholders. */
  templates?: Record<string, string | TemplateFunction>;
  /** Per-request timeout in milliseconds (default 10000); the delivery's own time budget also applies. */
  timeoutMs?: number;
}

const patternKeys = (ctx: z.core.$RefinementCtx<Record<string, unknown>>, map: Record<string, unknown>) => {
  for (const key of Object.keys(map)) {
    const error = patternError(key);
    if (error) ctx.addIssue({ code: "custom", message: error, path: [key] });
  }
};

const channelName = z.string().trim().min(1, "must be a channel id or name");

/** The options schema (zod): unknown keys are rejected so that typos surface at start-up. */
export const optionsSchema: z.ZodType<SlackOptions, SlackOptions> = z.strictObject({
  token: z
    .string()
    .trim()
    .min(1, "must be a Slack token")
    .describe("bot token (`xoxb-…`) with the `chat:write` scope; never in errors or logs"),
  channel: z
    .union(
      [
        channelName,
        z
          .record(z.string(), channelName)
          .superRefine((map, ctx) => patternKeys(ctx, map))
          .refine((map) => Object.keys(map).length > 0, "must name at least one event pattern"),
      ],
      {
        error: (issue) =>
          issue.input === undefined
            ? "expected a channel, received undefined"
            : "must be a channel id or name, or a map from event pattern to channel",
      },
    )
    .describe(
      "channel id or name for every event, or a map from event pattern (`*`, `user.*`, `user.created`) to channel: the most specific pattern wins (exact type, then the longest prefix, then `*`)",
    ),
  apiUrl: z
    .url({ protocol: /^https?$/ })
    .optional()
    .describe(
      "base URL of Slack's Web API (default `https://slack.com/api/`): a proxy, or a fake server in tests",
    ),
  templates: z
    .record(
      z.string(),
      z.union([z.string().min(1), z.custom<TemplateFunction>((value) => typeof value === "function")], {
        error: "must be a string template or a function",
      }),
    )
    .superRefine((map, ctx) => patternKeys(ctx, map))
    .optional()
    .describe(
      "message per event type or pattern (matched as `channel`): a string with `{{path.to.field}}` placeholders, or (in code) a function; other events get the default message",
    ),
  timeoutMs: z
    .number()
    .int()
    .positive()
    .optional()
    .describe("timeout of one HTTP request (default 10000 ms); the delivery's own time budget applies too"),
});
