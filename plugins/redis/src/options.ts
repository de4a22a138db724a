import { unknownPlaceholders } from "@switchyard/core";
import { z } from "zod";

/** The options of the redis plugin; see the README for each one. */
export const redisOptions = z.strictObject({
  /** The server: `redis://[user:password@]host:port[/db]`, or `rediss://` for TLS. */
  url: z.url({
    protocol: /^rediss?$/,
    // A missing url keeps zod's own message, which core turns into `missing option "url"`.
    error: (issue) => (issue.input === undefined ? undefined : "must be a redis:// or rediss:// URL"),
  }),
  /** The stream key; `{type}`, `{tenant}` and `{subject}` are filled per event. */
  stream: z
    .string()
    .min(1)
    .refine((stream) => unknownPlaceholders(stream).length === 0, {
      error: "knows only the placeholders {type}, {tenant} and {subject}",
    }),
  /** Trim the stream to about this many entries (`XADD … MAXLEN ~`); unbounded when absent. */
  maxLen: z.number().int().positive().optional(),
  /** A second delivery of an event id within this window adds no second entry. */
  dedupeWindowMs: z
    .number()
    .int()
    .min(1_000)
    .max(7 * 24 * 3_600_000)
    .default(120_000),
  /** Longest wait for connecting; each delivery is bounded by the host's budget too. */
  connectTimeoutMs: z.number().int().positive().max(120_000).default(10_000),
});

/** Options as written in the config. */
export type RedisOptions = z.input<typeof redisOptions>;
/** Options with defaults applied. */
export type ResolvedRedisOptions = z.output<typeof redisOptions>;
