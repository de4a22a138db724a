import { type EventFilter, patternError, validateFilter } from "@switchyard/core";
import { z } from "zod";

const duration = z.number().int().nonnegative();

const auth0Source = z
  .strictObject({
    domain: z.string().min(1, "must name the tenant, e.g. tenant.us.auth0.com or http://127.0.0.1:4010"),
    token: z.string().min(4, "must be at least 4 characters").optional(),
    clientId: z.string().min(1).optional(),
    clientSecret: z.string().min(4, "must be at least 4 characters").optional(),
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

/** An action's content filter, checked down to the offending operator (see core's filter.ts). */
const filterSchema = z
  .custom<EventFilter>(() => true)
  .superRefine((value, ctx) => {
    for (const issue of validateFilter(value)) {
      ctx.addIssue({ code: "custom", message: issue.message, path: issue.path });
    }
  });

/** A header name as HTTP (and Auth0's `custom_header`) allows it. */
const HEADER_NAME = /^[a-zA-Z0-9!#$%&'*+.^_`|~-]+$/;

/** A server's bounds against slow, idle and numerous clients (see apps/host/README.md). */
const serverLimits = {
  /** Connections open at once; more are closed as they arrive and counted. */
  maxConnections: z.number().int().min(1).max(1_000_000).default(1_000),
  /** A connection that has not sent a request's complete headers by then is answered 408 and closed. */
  headersTimeoutMs: z.number().int().min(1_000).max(600_000).default(30_000),
  /** A request not complete (headers and body) by then is answered 408 and closed. */
  requestTimeoutMs: z.number().int().min(1_000).max(600_000).default(60_000),
};

const webhookSource = z.strictObject({
  port: z.number().int().min(0).max(65_535),
  /** Listen address; 127.0.0.1 unless set (put a TLS-terminating proxy in front, or set `tls`). */
  host: z.string().min(1).default("127.0.0.1"),
  /** The path Auth0 POSTs to, e.g. `/auth0/events`. */
  path: z.string().regex(/^\/[^?#\s]*$/, 'must be a URL path starting with "/", e.g. /auth0/events'),
  /** As the Event Stream's `webhook_authorization`: exactly one of `bearer`, `basic`, `header`. */
  auth: z
    .strictObject({
      bearer: z.string().min(8, "must be at least 8 characters").optional(),
      basic: z
        .strictObject({
          username: z.string().min(1),
          password: z.string().min(8, "must be at least 8 characters"),
        })
        .optional(),
      header: z
        .strictObject({
          name: z.string().regex(HEADER_NAME, "must be an HTTP header name, e.g. x-switchyard-key"),
          value: z.string().min(8, "must be at least 8 characters"),
        })
        .optional(),
    })
    .superRefine((auth, ctx) => {
      const given = [auth.bearer, auth.basic, auth.header].filter((a) => a !== undefined).length;
      if (given !== 1) {
        ctx.addIssue({
          code: "custom",
          message: "needs exactly one of `bearer`, `basic` or `header`, as the Event Stream sends it",
        });
      }
    }),
  /** PEM files (relative to the config file): serve HTTPS; without it, plain HTTP. */
  tls: z.strictObject({ cert: z.string().min(1), key: z.string().min(1) }).optional(),
  /** Bodies larger than this are refused with 413. */
  maxBodyBytes: z
    .number()
    .int()
    .min(1024)
    .max(64 * 1024 * 1024)
    .default(1024 * 1024),
  ...serverLimits,
});

export const retrySchema = z.strictObject({
  /** Attempts in all, the first included, before a delivery is dead-lettered. */
  maxAttempts: z.number().int().min(1).max(1000).default(8),
  initialDelayMs: duration.default(1_000),
  maxDelayMs: duration.default(10 * 60_000),
  factor: z.number().min(1).max(10).default(2),
});

export const actionSchema = z
  .strictObject({
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
    /** Values the action reads as `event.secrets`; redacted from every log line, error and answer. */
    secrets: z
      .record(
        z.string(),
        z
          .string()
          .min(
            4,
            "must be at least 4 characters: a shorter secret could not be told apart in logs to redact it",
          ),
      )
      .default({}),
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
    /**
     * Deliver one key's events one at a time, in stream order: `subject` (the default: the user, organization,
     * group or connection the event is about; core's `subjectOf`), `user`, `organization`, a dotted path, or
     * `none` (no order).
     */
    orderBy: z.string().min(1).default("subject"),
    /**
     * Deliver none of a subject's events older (by time, then stream position) than one already delivered to
     * this action: state syncs want it, notifications do not. Needs `orderBy: subject`.
     */
    latestWins: z.boolean().default(false),
    /** Select events by content: `{ "data.object.email": { endsWith: "@acme.com" } }` (apps/host/README.md). */
    filter: filterSchema.optional(),
    /** Whether test events (`a0purpose: "test"`) reach this action. */
    testEvents: z.boolean().default(true),
    enabled: z.boolean().default(true),
    /** Pause the action after this many consecutive failed attempts (0: never), as Auth0 disables a stream. */
    pauseAfterFailures: z.number().int().min(0).default(500),
    /** Another action that is sent a `switchyard.action.paused` event when this one pauses itself. */
    alert: z.string().min(1).optional(),
  })
  .superRefine((action, ctx) => {
    // The check and the delivery are one step only while a subject's events run one at a time.
    if (action.latestWins && action.orderBy !== "subject") {
      ctx.addIssue({
        code: "custom",
        message: "needs the action's events ordered by subject: remove `orderBy` (or set `orderBy: subject`)",
        path: ["latestWins"],
      });
    }
  });

export const configSchema = z
  .strictObject({
    /** Where events come from: the tenant's stream, Auth0's webhook deliveries, or both. */
    source: z
      .strictObject({ auth0: auth0Source.optional(), webhook: webhookSource.optional() })
      .superRefine((source, ctx) => {
        if (source.auth0 === undefined && source.webhook === undefined) {
          ctx.addIssue({ code: "custom", message: "needs `auth0` (the event stream), `webhook`, or both" });
        }
      }),
    /** Folder of the SQLite state, relative to the config file, or a `postgres://` URL (shared by replicas). */
    state: z.string().min(1).default("./.switchyard"),
    /** The ops server: /healthz, /readyz, /metrics, the admin API under /api/ and the console at /. */
    server: z
      .strictObject({
        port: z.number().int().min(0).max(65_535).default(9464),
        /** Listen address. Anything but a loopback address needs `adminToken`. */
        host: z.string().default("127.0.0.1"),
        enabled: z.boolean().default(true),
        /** Bearer token every admin API call must carry; set it from an environment variable. */
        adminToken: z
          .string()
          .min(16, "must be at least 16 characters (e.g. `openssl rand -hex 32`)")
          .optional(),
        ...serverLimits,
      })
      .default({
        port: 9464,
        host: "127.0.0.1",
        enabled: true,
        maxConnections: 1_000,
        headersTimeoutMs: 30_000,
        requestTimeoutMs: 60_000,
      })
      .superRefine((server, ctx) => {
        if (server.enabled && server.adminToken === undefined && !isLoopback(server.host)) {
          ctx.addIssue({
            code: "custom",
            message: `listens beyond this machine (${server.host}): set \`server.adminToken\` from an environment variable, e.g. adminToken: \${SWITCHYARD_ADMIN_TOKEN}`,
            path: ["host"],
          });
        }
      }),
    /** The delivery history the console shows: every attempt, kept this long. */
    history: z
      .strictObject({
        /** How long attempts (and the events' payloads) are kept: `7d`, `24h`, `90m`, or `off` to record none. */
        retention: z
          .string()
          .regex(/^(off|\d+[mhd])$/, "must be a duration such as 7d, 24h or 90m, or `off`")
          .default("7d"),
      })
      .default({ retention: "7d" }),
    /**
     * OpenTelemetry traces (docs/operations.md#traces): off unless an endpoint is set here or in the standard
     * `OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT` variable.
     */
    telemetry: z
      .strictObject({
        otlp: z
          .strictObject({
            /** The collector's OTLP/HTTP base URL, e.g. `http://collector:4318` (`/v1/traces` is appended). */
            endpoint: z
              .string()
              .refine((value) => URL.canParse(value) && /^https?:$/.test(new URL(value).protocol), {
                message: "must be an http:// or https:// URL, e.g. http://collector:4318",
              })
              .optional(),
            /** Headers sent with each export (an API key): secrets, redacted everywhere. */
            headers: z.record(z.string(), z.string()).default({}),
          })
          .optional(),
        /** The `service.name` of the spans (default `switchyard`; `OTEL_SERVICE_NAME` wins). */
        serviceName: z.string().min(1).optional(),
      })
      .optional(),
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
    config.actions.forEach((action, index) => {
      if (action.alert === undefined) return;
      const target = config.actions.find((other) => other.name === action.alert);
      const problem =
        action.alert === action.name
          ? "an action cannot alert through itself"
          : !target
            ? `names no configured action (known: ${config.actions.map((a) => a.name).join(", ")})`
            : !target.enabled
              ? `names a disabled action`
              : undefined;
      if (problem) ctx.addIssue({ code: "custom", message: problem, path: ["actions", index, "alert"] });
    });
  });

/** Whether `host` names this machine only (the admin API may then go without a token). */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, "").toLowerCase();
  return bare === "localhost" || bare === "::1" || /^127(\.\d{1,3}){3}$/.test(bare);
}

const RETENTION_UNITS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `history.retention` in milliseconds; 0 when the history is off. */
export function retentionMs(retention: string): number {
  if (retention === "off") return 0;
  return Number(retention.slice(0, -1)) * RETENTION_UNITS[retention.slice(-1)]!;
}

/** A config as written (YAML or `defineConfig`), before defaults. */
export type SwitchyardConfigInput = z.input<typeof configSchema>;
/** A validated config with every default filled in. */
export type SwitchyardConfig = z.output<typeof configSchema>;
export type ActionConfig = z.output<typeof actionSchema>;
export type RetryConfig = z.output<typeof retrySchema>;
export type WebhookSourceConfig = z.output<typeof webhookSource>;

/** Type your `switchyard.config.ts`: `export default defineConfig({ … })`. */
export function defineConfig(config: SwitchyardConfigInput): SwitchyardConfigInput {
  return config;
}
