import { unknownPlaceholders } from "@switchyard/core";
import { z } from "zod";

/** The options of the redis plugin; see the README for each one. */
export const redisOptions = z.strictObject({
  url: z
    .url({
      protocol: /^rediss?$/,
      // A missing url keeps zod's own message, which core turns into `missing option "url"`.
      error: (issue) => (issue.input === undefined ? undefined : "must be a redis:// or rediss:// URL"),
    })
    .describe("`redis://[user:password@]host:port[/db]`, or `rediss://` (TLS); the password is never logged"),
  stream: z
    .string()
    .min(1)
    .refine((stream) => unknownPlaceholders(stream).length === 0, {
      error: "knows only the placeholders {type}, {tenant} and {subject}",
    })
    .describe("the stream key; `{type}`, `{tenant}` and `{subject}` are filled per event"),
  maxLen: z
    .number()
    .int()
    .positive()
    .optional()
    .describe("trim the stream to about this many entries (`XADD … MAXLEN ~ n`); unbounded when absent"),
  dedupeWindowMs: z
    .number()
    .int()
    .min(1_000)
    .max(7 * 24 * 3_600_000)
    .default(120_000)
    .describe("a repeated event id within this window adds no second entry"),
  connectTimeoutMs: z
    .number()
    .int()
    .positive()
    .max(120_000)
    .default(10_000)
    .describe(
      "longest wait for one connection attempt (reconnects back off from 100 ms to 5 s); each delivery is bounded by the host's budget too",
    ),
  replyTimeoutMs: z
    .number()
    .int()
    .min(100)
    .max(600_000)
    .default(10_000)
    .describe("a connection that answers nothing this long while appends wait on it is replaced"),
});

/** Options as written in the config. */
export type RedisOptions = z.input<typeof redisOptions>;
/** Options with defaults applied. */
export type ResolvedRedisOptions = z.output<typeof redisOptions>;
