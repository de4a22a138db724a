import { unknownPlaceholders } from "@switchyard/core";
import { z } from "zod";

const server = z.url({
  protocol: /^(nats|tls)$/,
  error: (issue) => (issue.input === undefined ? undefined : "must be nats:// or tls:// URLs"),
});

/** The options of the nats plugin; see the README for each one. */
export const natsOptions = z.strictObject({
  servers: z
    .union([z.string().transform((value) => value.split(",").map((url) => url.trim())), z.array(z.string())])
    .pipe(z.array(server).min(1, { error: "must name at least one server" }))
    .describe(
      "`nats://[user:password@]host:port` (or `tls://`), several comma-separated or as a list; the password is never logged",
    ),
  subject: z
    .string()
    .min(1)
    .refine((value) => unknownPlaceholders(value).length === 0, {
      error: "knows only the placeholders {type}, {tenant} and {subject}",
    })
    .refine((value) => !/[\s*>]/.test(value.replace(/\{[a-z]+\}/g, "")), {
      error: "must not hold spaces or the wildcards * and >",
    })
    .describe(
      "the subject to publish to, which a JetStream stream must capture; `{type}`, `{tenant}` and `{subject}` are filled per event (`.`, `*`, `>` in tenant and subject become `_`)",
    ),
  token: z
    .string()
    .min(1)
    .optional()
    .describe("a token, when the server expects one (or put user:password in the URL)"),
  connectTimeoutMs: z
    .number()
    .int()
    .positive()
    .max(120_000)
    .default(10_000)
    .describe("longest wait for one connection attempt; each delivery is bounded by the host's budget too"),
  pingIntervalMs: z
    .number()
    .int()
    .min(100)
    .max(600_000)
    .default(10_000)
    .describe("how often the client pings the server; a connection that misses two is replaced"),
});

/** Options as written in the config. */
export type NatsOptions = z.input<typeof natsOptions>;
/** Options with defaults applied. */
export type ResolvedNatsOptions = z.output<typeof natsOptions>;
