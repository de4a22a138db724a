import { unknownPlaceholders } from "@switchyard/core";
import { z } from "zod";

const template = z.string().refine((value) => unknownPlaceholders(value).length === 0, {
  error: "knows only the placeholders {type}, {tenant} and {subject}",
});

/** The options of the rabbitmq plugin; see the README for each one. */
export const rabbitmqOptions = z.strictObject({
  url: z
    .url({
      protocol: /^amqps?$/,
      // A missing url keeps zod's own message, which core turns into `missing option "url"`.
      error: (issue) => (issue.input === undefined ? undefined : "must be an amqp:// or amqps:// URL"),
    })
    .describe("`amqp://user:password@host:port[/vhost]`, or `amqps://` (TLS); the password is never logged"),
  exchange: z
    .string()
    .describe(
      'the exchange to publish to; `""` is the default exchange (the routing key then names a queue)',
    ),
  routingKey: template
    .default("{type}")
    .describe(
      "`{type}`, `{tenant}` and `{subject}` are filled per event (`.`, `*`, `>` in tenant and subject become `_`)",
    ),
  declareExchange: z
    .enum(["topic", "direct", "fanout", "headers"])
    .optional()
    .describe("declare the exchange (durable, of this type) on connecting; by default it must exist already"),
  connectTimeoutMs: z
    .number()
    .int()
    .positive()
    .max(120_000)
    .default(10_000)
    .describe(
      "longest wait for connecting (TCP, AMQP handshake, channel); each delivery is bounded by the host's budget too",
    ),
  heartbeatSeconds: z
    .number()
    .int()
    .min(1)
    .max(600)
    .default(10)
    .describe("AMQP heartbeat; a connection silent for two is replaced (a `heartbeat` in the URL wins)"),
});

/** Options as written in the config. */
export type RabbitmqOptions = z.input<typeof rabbitmqOptions>;
/** Options with defaults applied. */
export type ResolvedRabbitmqOptions = z.output<typeof rabbitmqOptions>;
