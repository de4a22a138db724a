import { type EventFilter, patternError, redactPathError, validateFilter } from "@switchyard/core";
import { z } from "zod";
import { OTLP_PROTOCOLS } from "../telemetry/types.js";
import { DEFAULT_TENANT } from "../tenants.js";

const duration = z.number().int().nonnegative();

const auth0Source = z
  .strictObject({
    domain: z
      .string()
      .min(1, "must name the tenant, e.g. tenant.us.auth0.com or http://127.0.0.1:4010")
      .describe("the tenant (`tenant.us.auth0.com`) or a base URL (`http://127.0.0.1:4010`)"),
    token: z
      .string()
      .min(4, "must be at least 4 characters")
      .optional()
      .describe("a static Management API token, instead of `clientId` and `clientSecret`"),
    clientId: z
      .string()
      .min(1)
      .optional()
      .describe("client-credentials grant (`read:events`), with `clientSecret`; give these or `token`"),
    clientSecret: z
      .string()
      .min(4, "must be at least 4 characters")
      .optional()
      .describe("the client-credentials grant's secret, with `clientId`"),
    audience: z
      .string()
      .optional()
      .describe(
        "the client-credentials token's audience, e.g. for a custom domain (default `<domain>/api/v2/`)",
      ),
    fromTimestamp: z
      .string()
      .refine(
        (value) => !Number.isNaN(Date.parse(value)),
        "must be an RFC 3339 timestamp, e.g. 2026-11-01T00:00:00Z",
      )
      .optional()
      .describe("RFC 3339 time to start from when no cursor is stored yet"),
    onCursorExpired: z
      .enum(["fail", "from-timestamp"])
      .default("fail")
      .describe(
        "when the stored cursor has expired: `fail` (stop), or `from-timestamp`: resume at `fromTimestamp` and rely on dedupe",
      ),
    idleTimeoutMs: duration
      .optional()
      .describe(
        "reconnect when the stream sends nothing (not even a heartbeat) for this long (default 90000)",
      ),
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
  })
  .describe("the tenant's event stream, read with the Management API");

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
  })
  .describe('select events by content: `{ "data.object.email": { endsWith: "@acme.com" } }` (see Filters)');

/** A field path removed from the event before the action sees it (core's redact-paths.ts). */
const redactPath = z.string().superRefine((value, ctx) => {
  const error = redactPathError(value);
  if (error) ctx.addIssue({ code: "custom", message: error });
});

/** A module (path relative to the config file, as a `plugin:` file) that reshapes or skips each event. */
const transformModule = z
  .string()
  .min(1)
  .regex(/^(\.{1,2}\/|\/)/, 'must be a path to a .js or .ts file relative to the config, e.g. "./shape.js"');

export const DEFAULT_TRANSFORM_TIMEOUT_MS = 1_000;

const transformSchema = z
  .union([
    transformModule,
    z.strictObject({
      module: transformModule.describe("the transform module, relative to the config"),
      timeoutMs: z
        .number()
        .int()
        .min(1)
        .max(60_000)
        .default(DEFAULT_TRANSFORM_TIMEOUT_MS)
        .describe("the transform's time budget per event; past it the delivery is dead-lettered"),
    }),
  ])
  .transform((value) =>
    typeof value === "string" ? { module: value, timeoutMs: DEFAULT_TRANSFORM_TIMEOUT_MS } : value,
  )
  .describe(
    "a module (`./shape.js`, relative to the config) exporting `(event) => event | null`: the action gets what it returns, and null skips the event (outcome `filtered`); or `{ module, timeoutMs }` (default 1000 ms per event); see docs/redact-and-transform.md",
  );

/** A header name as HTTP (and Auth0's `custom_header`) allows it. */
const HEADER_NAME = /^[a-zA-Z0-9!#$%&'*+.^_`|~-]+$/;

/** An admin token's value: long enough not to be guessed. */
const adminTokenValue = z.string().min(16, "must be at least 16 characters (e.g. `openssl rand -hex 32`)");

/** A server's bounds against slow, idle and numerous clients (see apps/host/README.md). */
const serverLimits = {
  maxConnections: z
    .number()
    .int()
    .min(1)
    .max(1_000_000)
    .default(1_000)
    .describe("connections open at once; more are closed as they arrive, and counted"),
  headersTimeoutMs: z
    .number()
    .int()
    .min(1_000)
    .max(600_000)
    .default(30_000)
    .describe(
      "a connection that has not sent a request's headers by then gets 408 and is closed, idle ones too",
    ),
  requestTimeoutMs: z
    .number()
    .int()
    .min(1_000)
    .max(600_000)
    .default(60_000)
    .describe("a request not complete (headers and body) by then gets 408 and is closed"),
};

const webhookSource = z.strictObject({
  port: z.number().int().min(0).max(65_535).describe("port Auth0 Event Streams POST to (0: any free port)"),
  host: z
    .string()
    .min(1)
    .default("127.0.0.1")
    .describe("listen address (put a TLS-terminating proxy in front, or set `tls`)"),
  path: z
    .string()
    .regex(/^\/[^?#\s]*$/, 'must be a URL path starting with "/", e.g. /auth0/events')
    .describe("the path of the webhook URL, e.g. `/auth0/events`; any other path answers 404"),
  auth: z
    .strictObject({
      bearer: z
        .string()
        .min(8, "must be at least 8 characters")
        .optional()
        .describe('the token of `webhook_authorization: {method: "bearer"}`'),
      basic: z
        .strictObject({
          username: z.string().min(1).describe('the user name of `{method: "basic"}`'),
          password: z
            .string()
            .min(8, "must be at least 8 characters")
            .describe('the password of `{method: "basic"}`'),
        })
        .optional()
        .describe('`webhook_authorization: {method: "basic"}`'),
      header: z
        .strictObject({
          name: z
            .string()
            .regex(HEADER_NAME, "must be an HTTP header name, e.g. x-switchyard-key")
            .describe('the header name of `{method: "custom_header"}`'),
          value: z
            .string()
            .min(8, "must be at least 8 characters")
            .describe('the header value of `{method: "custom_header"}`'),
        })
        .optional()
        .describe('`webhook_authorization: {method: "custom_header"}`'),
    })
    .superRefine((auth, ctx) => {
      const given = [auth.bearer, auth.basic, auth.header].filter((a) => a !== undefined).length;
      if (given !== 1) {
        ctx.addIssue({
          code: "custom",
          message: "needs exactly one of `bearer`, `basic` or `header`, as the Event Stream sends it",
        });
      }
    })
    .describe("as the Event Stream's `webhook_authorization`: exactly one of `bearer`, `basic`, `header`"),
  tls: z
    .strictObject({
      cert: z.string().min(1).describe("the certificate chain's PEM file, relative to the config"),
      key: z.string().min(1).describe("the private key's PEM file, relative to the config"),
    })
    .optional()
    .describe("serve HTTPS with these PEM files; without them, plain HTTP (put a TLS proxy in front)"),
  maxBodyBytes: z
    .number()
    .int()
    .min(1024)
    .max(64 * 1024 * 1024)
    .default(1024 * 1024)
    .describe("larger bodies are refused with 413"),
  ...serverLimits,
});

export const retrySchema = z.strictObject({
  maxAttempts: z
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(8)
    .describe("attempts in all, the first included, before a delivery is dead-lettered"),
  initialDelayMs: duration
    .default(1_000)
    .describe(
      "the first retry's delay; exponential backoff with full jitter, a `Retry-After` from the destination wins",
    ),
  maxDelayMs: duration.default(10 * 60_000).describe("the longest delay between two attempts"),
  factor: z
    .number()
    .min(1)
    .max(10)
    .default(2)
    .describe("each retry's delay is this times the previous one's"),
});

export const rateLimitSchema = z
  .strictObject({
    perSecond: z
      .number()
      .positive()
      .max(1_000_000)
      .optional()
      .describe("deliveries that may start per second (give this or `perMinute`)"),
    perMinute: z
      .number()
      .positive()
      .max(60_000_000)
      .optional()
      .describe("deliveries that may start per minute (give this or `perSecond`)"),
    burst: z
      .number()
      .int()
      .min(1)
      .max(1_000_000)
      .default(1)
      .describe(
        "deliveries that may start at once after a quiet spell: in any window of T s at most `burst + rate × T` start",
      ),
  })
  .superRefine((limit, ctx) => {
    if ((limit.perSecond === undefined) === (limit.perMinute === undefined)) {
      ctx.addIssue({ code: "custom", message: "needs exactly one of `perSecond` or `perMinute`" });
    }
  });

export const actionSchema = z
  .strictObject({
    name: z
      .string()
      .regex(
        /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/,
        "must be 1-63 letters, digits, '-', '_' or '.', starting with a letter or digit",
      )
      .describe("unique; labels logs, metrics and dead letters"),
    plugin: z
      .string()
      .min(1)
      .describe(
        "`console`, a package name (installed next to the config, or bundled: `@switchyard/plugin-slack`, `-segment`, `-http`), or a path to a `.js`/`.mjs`/`.cjs`/`.ts` file, relative to the config",
      ),
    events: z
      .array(pattern)
      .min(1, 'must list at least one event pattern, e.g. ["*"]')
      .describe(
        "patterns: `*` (everything, future types too), `user.*` (any depth, future `user.…` types too), or exact types",
      ),
    tenants: z
      .array(z.string().min(1))
      .min(1, "must list at least one tenant (or leave `tenants` out: every tenant)")
      .optional()
      .describe("the `sources` tenants whose events it gets (default: every tenant)"),
    with: z
      .record(z.string(), z.unknown())
      .default({})
      .describe("the plugin's options, checked against its schema before start"),
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
      .default({})
      .describe("`event.secrets` of the action; redacted from every log line, error and answer"),
    retry: retrySchema
      .default(retrySchema.parse({}))
      .describe("how a failed delivery is retried before it is dead-lettered"),
    timeoutMs: z
      .number()
      .int()
      .min(1)
      .max(15 * 60_000)
      .default(10_000)
      .describe("time budget of one attempt (as Auth0); `api.signal` aborts when it runs out"),
    concurrency: z
      .number()
      .int()
      .min(1)
      .max(1024)
      .default(16)
      .describe("attempts of this action in flight at once"),
    orderBy: z
      .string()
      .min(1)
      .default("subject")
      .describe(
        "one key's events one at a time, in stream order: `subject` (the user, organization, group or connection the event is about), `user`, `organization`, a dotted path, or `none`",
      ),
    latestWins: z
      .boolean()
      .default(false)
      .describe(
        "skip (outcome `stale`) an event of a subject older, by `time` then stream position, than one already delivered to this action: for state syncs; needs `orderBy: subject`",
      ),
    filter: filterSchema.optional(),
    redact: z
      .array(redactPath)
      .default([])
      .describe(
        "field paths removed from the event before the action sees it (after `transform`): `data.object.email`, `data.object.identities.*.access_token`; `*` is any key or index, digits index arrays",
      ),
    transform: transformSchema.optional(),
    testEvents: z
      .boolean()
      .default(true)
      .describe('whether events with `a0purpose: "test"` reach this action'),
    enabled: z.boolean().default(true).describe("`false`: the action is not started, and gets no events"),
    pauseAfterFailures: z
      .number()
      .int()
      .min(0)
      .default(500)
      .describe(
        "pause the action after this many consecutive failed attempts (0: never), as Auth0 disables a failing stream; its deliveries wait in the store until `switchyard actions resume`",
      ),
    rateLimit: rateLimitSchema
      .optional()
      .describe(
        "deliveries of this action start no faster than `perSecond` or `perMinute`, `burst` of them at once after a quiet spell; shared by replicas on one Postgres state; a `Retry-After` still wins; the backlog waits in the store (see docs/pacing.md)",
      ),
    circuitBreaker: z
      .strictObject({
        failures: z
          .number()
          .int()
          .min(1)
          .max(1_000_000)
          .describe("consecutive connection errors, timeouts or 5xx that open the breaker"),
        coolDownMs: z
          .number()
          .int()
          .min(1)
          .max(24 * 60 * 60_000)
          .describe("how long an open breaker attempts nothing before one delivery probes"),
      })
      .optional()
      .describe(
        "after `failures` consecutive connection errors, timeouts or 5xx, attempt nothing for `coolDownMs`, then let one delivery probe; waiting deliveries keep their attempt counts; each replica keeps its own (see docs/pacing.md)",
      ),
    alert: z
      .string()
      .min(1)
      .optional()
      .describe(
        "another action's name: it is sent a `switchyard.action.paused` event when this action pauses itself",
      ),
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

/** Where one tenant's events come from: its stream, its webhook, or both. */
const sourceFields = z
  .strictObject({
    auth0: auth0Source.optional(),
    webhook: webhookSource
      .optional()
      .describe("Auth0 Event Streams' webhook deliveries, POSTed to this host"),
  })
  .superRefine(needsASource);

function needsASource(source: { auth0?: unknown; webhook?: unknown }, ctx: z.RefinementCtx): void {
  if (source.auth0 === undefined && source.webhook === undefined) {
    ctx.addIssue({ code: "custom", message: "needs `auth0` (the event stream), `webhook`, or both" });
  }
}

const tenantName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, "1-63 lowercase letters, digits and . _ - (e.g. prod, eu-dev)");

export const configSchema = z
  .strictObject({
    source: sourceFields
      .optional()
      .describe(
        "where events come from, for one tenant: its stream (`auth0`), Auth0's webhook deliveries (`webhook`), or both (or list several tenants in `sources`)",
      ),
    sources: z
      .array(
        z
          .strictObject({
            tenant: tenantName.describe(
              "the tenant's name here: a label on metrics and logs, and what actions' `tenants` and `--tenant` select",
            ),
            ...sourceFields.shape,
            a0tenant: z
              .array(z.string().min(1))
              .min(1)
              .optional()
              .describe(
                "the `a0tenant` (Auth0's tenant name) its webhook accepts events from; default: `tenant` and the first label of `auth0.domain`",
              ),
          })
          .superRefine(needsASource),
      )
      .min(1, "must list at least one tenant")
      .optional()
      .describe(
        "several tenants served by one deployment and one state, each with its own stream cursor, dedupe and leader lease (docs/tenants.md); instead of `source`",
      ),
    state: z
      .string()
      .min(1)
      .default("./.switchyard")
      .describe(
        "folder of the SQLite store, relative to the config file, or a `postgres://` URL shared by replicas",
      ),
    server: z
      .strictObject({
        port: z
          .number()
          .int()
          .min(0)
          .max(65_535)
          .default(9464)
          .describe(
            "port of the ops server: the console at `/`, the admin API at `/api/`, `/healthz`, `/readyz`, `/metrics` (0: any free port)",
          ),
        host: z
          .string()
          .default("127.0.0.1")
          .describe(
            "address the server listens on; anything but a loopback address needs `server.adminToken`",
          ),
        enabled: z.boolean().default(true).describe("`false`: no HTTP server at all"),
        adminToken: adminTokenValue
          .optional()
          .describe(
            "bearer token every admin API call must carry (16+ characters; set it from an environment variable: `${SWITCHYARD_ADMIN_TOKEN}`)",
          ),
        adminTokens: z
          .array(
            z.strictObject({
              name: z
                .string()
                .regex(
                  /^[\w.@:-]{1,64}$/,
                  "1-64 letters, digits and . _ - @ : (it names the token in the audit log)",
                )
                .describe("names the token in the audit log and the console"),
              token: adminTokenValue.describe(
                "the bearer token (16+ characters; from an environment variable)",
              ),
              role: z
                .enum(["viewer", "operator"])
                .describe(
                  "`viewer` reads everything and changes nothing; `operator` also pauses, resumes, replays and purges",
                ),
            }),
          )
          .optional()
          .describe(
            "named admin tokens, each with a role; names appear in the audit log; `adminToken` beside them is an operator named `admin`",
          ),
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
        const names = new Set<string>(server.adminToken !== undefined ? ["admin"] : []);
        const tokens = new Set<string>(server.adminToken !== undefined ? [server.adminToken] : []);
        for (const [index, entry] of (server.adminTokens ?? []).entries()) {
          if (names.has(entry.name)) {
            ctx.addIssue({
              code: "custom",
              message: `the name "${entry.name}" is taken${entry.name === "admin" && server.adminToken !== undefined ? " (by `adminToken`)" : ""}: each token needs its own name`,
              path: ["adminTokens", index, "name"],
            });
          }
          if (tokens.has(entry.token)) {
            ctx.addIssue({
              code: "custom",
              message: "this token is given twice: each name needs its own token",
              path: ["adminTokens", index, "token"],
            });
          }
          names.add(entry.name);
          tokens.add(entry.token);
        }
        if (server.enabled && tokens.size === 0 && !isLoopback(server.host)) {
          ctx.addIssue({
            code: "custom",
            message: `listens beyond this machine (${server.host}): set \`server.adminToken\` (or \`server.adminTokens\`) from an environment variable, e.g. adminToken: \${SWITCHYARD_ADMIN_TOKEN}`,
            path: ["host"],
          });
        }
      })
      .describe("the ops server: the console, the admin API, health and metrics"),
    history: z
      .strictObject({
        retention: z
          .string()
          .regex(/^(off|\d+[mhd])$/, "must be a duration such as 7d, 24h or 90m, or `off`")
          .default("7d")
          .describe(
            "how long every delivery attempt (and each event's payload) is kept for the console: `7d`, `24h`, `90m`, or `off`",
          ),
        auditRetention: z
          .string()
          .regex(/^\d+[mhd]$/, "must be a duration such as 90d, 24h or 90m")
          .default("90d")
          .describe(
            "the audit log (operators' pauses, resumes, replays, purges, reloads) is kept as long as `retention`, and at least this long",
          ),
      })
      .default({ retention: "7d", auditRetention: "90d" })
      .describe("the delivery history the console shows: every attempt, and the audit log"),
    telemetry: z
      .strictObject({
        otlp: z
          .strictObject({
            endpoint: z
              .string()
              .refine((value) => URL.canParse(value) && /^https?:$/.test(new URL(value).protocol), {
                message: "must be an http:// or https:// URL, e.g. http://collector:4318",
              })
              .optional()
              .describe(
                "the collector's OTLP/HTTP base URL, e.g. `http://collector:4318` (`/v1/traces` is appended)",
              ),
            headers: z
              .record(z.string(), z.string())
              .default({})
              .describe("headers sent with each export (an API key): secrets, redacted everywhere"),
            protocol: z
              .enum(OTLP_PROTOCOLS)
              .optional()
              .describe(
                "how spans are encoded: `http/protobuf` (default, as OTLP says) or `http/json`; else `OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL`",
              ),
          })
          .optional()
          .describe("where spans are exported (OTLP over HTTP)"),
        serviceName: z
          .string()
          .min(1)
          .optional()
          .describe("the `service.name` of the spans (default `switchyard`; `OTEL_SERVICE_NAME` wins)"),
      })
      .optional()
      .describe(
        "OpenTelemetry traces (docs/operations.md#traces): off unless an endpoint is set here or in `OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT`",
      ),
    log: z
      .strictObject({
        level: z
          .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"])
          .default("info")
          .describe("`fatal`, `error`, `warn`, `info`, `debug`, `trace`, `silent`"),
        format: z
          .enum(["json", "pretty"])
          .default("json")
          .describe("`json` lines for machines, `pretty` for people at a terminal"),
      })
      .default({ level: "info", format: "json" })
      .describe("the host's log, on stdout"),
    delivery: z
      .strictObject({
        shutdownGraceMs: duration
          .default(10_000)
          .describe("on SIGTERM, how long in-flight deliveries get to finish"),
        maxPending: z
          .number()
          .int()
          .min(1)
          .default(1_000_000)
          .describe(
            "the store's cap: unfinished deliveries of all actions before the stream is paused (one slow or failing action never pauses it alone)",
          ),
        dedupeWindowMs: duration
          .default(7 * 24 * 60 * 60_000)
          .describe("how long event ids are kept to drop upstream duplicates"),
        synchronous: z
          .enum(["normal", "full"])
          .default("normal")
          .describe("`normal`: survives a killed process; `full`: also a power cut, ~10% slower"),
        leaseMs: duration
          .default(5000)
          .describe(
            "Postgres only: how long the stream's leader lease lasts unrenewed before a standby replica takes over",
          ),
      })
      .default({
        shutdownGraceMs: 10_000,
        maxPending: 1_000_000,
        dedupeWindowMs: 7 * 24 * 60 * 60_000,
        synchronous: "normal",
        leaseMs: 5000,
      })
      .describe("how deliveries are stored, paced and stopped"),
    actions: z
      .array(actionSchema)
      .min(1, "must list at least one action")
      .describe("where events go: each action gets the events its `events` patterns (and `filter`) select"),
  })
  .superRefine((config, ctx) => {
    checkTenants(config, ctx);
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

/** One tenant's sources, as `sources` lists them (or the single `source`, as the tenant `default`). */
export interface TenantSource {
  tenant: string;
  auth0?: z.output<typeof auth0Source> | undefined;
  webhook?: WebhookSourceConfig | undefined;
  /** The `a0tenant` values its webhook accepts; undefined: any (the single `source`). */
  a0tenants?: readonly string[] | undefined;
}

/** The config's tenants and their sources, in order. */
export function tenantSources(config: Pick<SwitchyardConfig, "source" | "sources">): TenantSource[] {
  if (config.sources) {
    return config.sources.map((source) => ({
      tenant: source.tenant,
      auth0: source.auth0,
      webhook: source.webhook,
      a0tenants: source.a0tenant ?? defaultA0Tenants(source.tenant, source.auth0?.domain),
    }));
  }
  return config.source ? [{ tenant: DEFAULT_TENANT, ...config.source }] : [];
}

/** The tenant's name, and the first label of its Auth0 domain (`acme` of `acme.us.auth0.com`). */
function defaultA0Tenants(tenant: string, domain: string | undefined): string[] {
  const label = domain && !/^https?:/.test(domain) ? domain.split(".")[0] : undefined;
  return label && label !== tenant ? [tenant, label] : [tenant];
}

/** The tenants an action serves: its `tenants`, or every tenant of the config. */
export function tenantsOf(
  action: Pick<ActionConfig, "tenants">,
  config: Pick<SwitchyardConfig, "source" | "sources">,
): string[] {
  return action.tenants ?? tenantSources(config).map((source) => source.tenant);
}

type ParsedConfig = z.output<typeof configSchema>;

/** `source` or `sources` (not both); unique tenant names; webhooks that share a port agree; known `tenants`. */
function checkTenants(config: Omit<ParsedConfig, never>, ctx: z.RefinementCtx): void {
  if (config.source === undefined && config.sources === undefined) {
    ctx.addIssue({
      code: "custom",
      message: "needs `source` (one tenant) or `sources` (several)",
      path: ["source"],
    });
    return;
  }
  if (config.source !== undefined && config.sources !== undefined) {
    ctx.addIssue({
      code: "custom",
      message: "give `source` (one tenant) or `sources` (several), not both",
      path: ["sources"],
    });
    return;
  }
  const names = new Map<string, number>();
  const ports = new Map<number, { index: number; webhook: WebhookSourceConfig }>();
  const paths = new Map<string, number>();
  (config.sources ?? []).forEach((source, index) => {
    const first = names.get(source.tenant);
    if (first !== undefined) {
      ctx.addIssue({
        code: "custom",
        message: `duplicate tenant "${source.tenant}" (also sources[${first}])`,
        path: ["sources", index, "tenant"],
      });
    }
    names.set(source.tenant, index);
    const webhook = source.webhook;
    if (!webhook) return;
    const where = `${webhook.port === 0 ? `0#${index}` : webhook.port}`;
    const path = `${where} ${webhook.path}`;
    const taken = paths.get(path);
    if (taken !== undefined) {
      ctx.addIssue({
        code: "custom",
        message: `sources[${taken}] already listens on this port and path: each tenant needs its own path`,
        path: ["sources", index, "webhook", "path"],
      });
    }
    paths.set(path, index);
    if (webhook.port === 0) return;
    const shared = ports.get(webhook.port);
    if (!shared) {
      ports.set(webhook.port, { index, webhook });
      return;
    }
    const server = ({ path: _, auth: __, ...rest }: WebhookSourceConfig) => JSON.stringify(rest);
    if (server(shared.webhook) !== server(webhook)) {
      ctx.addIssue({
        code: "custom",
        message: `shares port ${webhook.port} with sources[${shared.index}]: give it the same host, tls and limits (only path and auth may differ), or another port`,
        path: ["sources", index, "webhook"],
      });
    }
  });
  const known = tenantSources(config).map((source) => source.tenant);
  config.actions.forEach((action, index) => {
    (action.tenants ?? []).forEach((tenant, at) => {
      if (!known.includes(tenant)) {
        ctx.addIssue({
          code: "custom",
          message: `names no configured tenant (known: ${known.join(", ")})`,
          path: ["actions", index, "tenants", at],
        });
      }
    });
  });
}

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
