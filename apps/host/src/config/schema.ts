import { patternError } from "@switchyard/core";
import { z } from "zod";

const duration = z.number().int().nonnegative();

const auth0Source = z
  .strictObject({
    domain: z.string().min(1, "must name the tenant, e.g. tenant.us.auth0.com or http://127.0.0.1:4010"),
    token: z.string().min(1).optional(),
    clientId: z.string().min(1).optional(),
    clientSecret: z.string().min(1).optional(),
    audience: z.string().optional(),
    fromTimestamp: z
      .string()
      .refine(
        (value) => !Number.isNaN(Date.parse(value)),
        "must be an RFC 3339 timestamp, e.g. 2026-11-01T00:00:00Z",
      )
      .optional(),
    /** What to do when the stored cursor has expired: stop (default) or resume from `fromTimestamp`. */
    onCursorExpired: z.enum(["fail", "from-timestamp"]).default("fail"),
    idleTimeoutMs: duration.optional(),
  })
  .superRefine((value, ctx) => {
    const credentials = value.clientId !== undefined || value.clientSecret !== undefined;
    if (value.token === undefined && !credentials) {
      ctx.addIssue({
        code: "custom",
        message: "needs either `token` or `clientId` and `clientSecret`",
        path: [],
      });
    }
    if (credentials && (value.clientId === undefined || value.clientSecret === undefined)) {
      ctx.addIssue({
        code: "custom",
        message: "`clientId` and `clientSecret` go together",
        path: [value.clientId === undefined ? "clientId" : "clientSecret"],
      });
    }
    if (value.onCursorExpired === "from-timestamp" && value.fromTimestamp === undefined) {
      ctx.addIssue({
        code: "custom",
        message: "`from-timestamp` needs `fromTimestamp`",
        path: ["onCursorExpired"],
      });
    }
  });

const pattern = z.string().superRefine((value, ctx) => {
  const error = patternError(value);
  if (error) ctx.addIssue({ code: "custom", message: error });
});

export const retrySchema = z.strictObject({
  /** Attempts in all, the first included, before a delivery is dead-lettered. */
  maxAttempts: z.number().int().min(1).max(1000).default(8),
  initialDelayMs: duration.default(1_000),
  maxDelayMs: duration.default(10 * 60_000),
  factor: z.number().min(1).max(10).default(2),
});

export const actionSchema = z.strictObject({
  name: z
    .string()
    .regex(
      /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/,
      "must be 1-63 letters, digits, '-', '_' or '.', starting with a letter or digit",
    ),
  /** A plugin package name, `console`, or a path (relative to the config file) to a module. */
  plugin: z.string().min(1),
  events: z.array(pattern).min(1, 'must list at least one event pattern, e.g. ["*"]'),
  with: z.record(z.string(), z.unknown()).default({}),
  secrets: z.record(z.string(), z.string()).default({}),
  retry: retrySchema.default(retrySchema.parse({})),
  /** Time budget of one attempt. */
  timeoutMs: z
    .number()
    .int()
    .min(1)
    .max(15 * 60_000)
    .default(10_000),
  /** Deliveries of this action running at once. */
  concurrency: z.number().int().min(1).max(1024).default(16),
  /** Deliver one key's events one at a time, in stream order: `user`, `organization`, or a dotted path. */
  orderBy: z.string().min(1).optional(),
  /** Whether test events (`a0purpose: "test"`) reach this action. */
  testEvents: z.boolean().default(true),
  enabled: z.boolean().default(true),
});

export const configSchema = z
  .strictObject({
    source: z.strictObject({ auth0: auth0Source }),
    /** Folder of the SQLite state, relative to the config file, or a `postgres://` URL (shared by replicas). */
    state: z.string().min(1).default("./.switchyard"),
    server: z
      .strictObject({
        port: z.number().int().min(0).max(65_535).default(9464),
        host: z.string().default("127.0.0.1"),
        enabled: z.boolean().default(true),
      })
      .default({ port: 9464, host: "127.0.0.1", enabled: true }),
    log: z
      .strictObject({
        level: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
        /** `json` lines (default) for machines, `pretty` for people at a terminal. */
        format: z.enum(["json", "pretty"]).default("json"),
      })
      .default({ level: "info", format: "json" }),
    delivery: z
      .strictObject({
        /** On SIGTERM, how long in-flight deliveries get to finish. */
        shutdownGraceMs: duration.default(10_000),
        /** Stop reading the stream while more deliveries than this are unfinished (backpressure). */
        maxPending: z.number().int().min(1).default(1_000_000),
        /** How long event ids are remembered to drop upstream duplicates. */
        dedupeWindowMs: duration.default(7 * 24 * 60 * 60_000),
        /** SQLite durability: `normal` survives a killed process; `full` also a power cut. */
        synchronous: z.enum(["normal", "full"]).default("normal"),
        /** Postgres: how long the stream's leader lease lasts unrenewed (a standby takes over after it). */
        leaseMs: duration.default(5000),
      })
      .default({
        shutdownGraceMs: 10_000,
        maxPending: 1_000_000,
        dedupeWindowMs: 7 * 24 * 60 * 60_000,
        synchronous: "normal",
        leaseMs: 5000,
      }),
    actions: z.array(actionSchema).min(1, "must list at least one action"),
  })
  .superRefine((config, ctx) => {
    const seen = new Map<string, number>();
    config.actions.forEach((action, index) => {
      const first = seen.get(action.name);
      if (first !== undefined) {
        ctx.addIssue({
          code: "custom",
          message: `duplicate action name "${action.name}" (also actions[${first}])`,
          path: ["actions", index, "name"],
        });
      }
      seen.set(action.name, index);
    });
  });

/** A config as written (YAML or `defineConfig`), before defaults. */
export type SwitchyardConfigInput = z.input<typeof configSchema>;
/** A validated config with every default filled in. */
export type SwitchyardConfig = z.output<typeof configSchema>;
export type ActionConfig = z.output<typeof actionSchema>;
export type RetryConfig = z.output<typeof retrySchema>;

/** Type your `switchyard.config.ts`: `export default defineConfig({ … })`. */
export function defineConfig(config: SwitchyardConfigInput): SwitchyardConfigInput {
  return config;
}
