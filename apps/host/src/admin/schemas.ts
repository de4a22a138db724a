import { z } from "zod";

// The admin API's wire format: every request is validated with these schemas and every answer is built to
// them, and /api/openapi.json is generated from them (openapi.ts), so the document cannot drift from the code.
// Times are ISO 8601 strings on the wire; the store keeps epoch milliseconds.

const isoTime = z.iso.datetime({ offset: true });

export const Outcome = z.enum(["delivered", "retrying", "dead", "stale", "filtered"]).meta({
  id: "Outcome",
  description:
    "delivered: done; retrying: failed, will be tried again; dead: failed for good (a dead letter); " +
    "stale: not run, a newer event of its subject was already delivered (latestWins); " +
    "filtered: not sent, the action's transform returned null",
});

export const AttemptLogLine = z
  .object({
    level: z.enum(["debug", "info", "warn", "error"]),
    message: z.string(),
    at: isoTime,
  })
  .meta({ id: "AttemptLogLine" });

export const ErrorAnswer = z
  .object({ error: z.string().describe("What was wrong, for people") })
  .meta({ id: "Error" });

export const Attempt = z
  .object({
    id: z.number().int().describe("Increasing: newer attempts have larger ids"),
    action: z.string(),
    tenant: z.string().describe("The tenant whose event it is (`default` for a config with one `source`)"),
    eventId: z.string(),
    eventType: z.string(),
    attempt: z.number().int().min(1),
    startedAt: isoTime,
    durationMs: z.number(),
    outcome: Outcome,
    status: z.number().int().optional().describe("The destination's HTTP status, when known"),
    error: z.string().optional().describe("Failed attempts: the error, redacted"),
    replica: z.string().describe("The replica (or single host) that ran it"),
    logs: z
      .array(AttemptLogLine)
      .optional()
      .describe("What a file action printed during the attempt (console.log and the like), in order"),
  })
  .meta({ id: "Attempt" });

export const Window = z
  .object({
    delivered: z.number().int(),
    failed: z.number().int().describe("Failed attempts: retrying and dead"),
    dead: z.number().int(),
    stale: z.number().int().describe("Events not run: a newer one of their subject was delivered"),
  })
  .meta({ id: "Window" });

export const ActionView = z
  .object({
    name: z.string(),
    plugin: z.string(),
    events: z.array(z.string()),
    tenants: z
      .array(z.string())
      .describe("The tenants whose events it takes: its `tenants`, or every tenant (`default` for `source`)"),
    enabled: z.boolean(),
    state: z
      .enum(["running", "paused", "failed", "disabled", "removed"])
      .describe(
        "`removed`: not in the config (removed or renamed) while deliveries of it wait in the store; configure an action of that name again to deliver them",
      ),
    pausedReason: z.string().optional(),
    pausedSince: isoTime.optional(),
    failedReason: z
      .string()
      .optional()
      .describe(
        "Why the host could not start the action (plugin failed to load, factory threw); its events wait",
      ),
    lastMinute: Window,
    lastHour: Window,
    latency: z
      .object({
        attempts: z.number().int().describe("Attempts that ran in the last hour"),
        p50Ms: z.number().optional(),
        p99Ms: z.number().optional(),
      })
      .describe(
        "Attempt durations over the last hour: estimated from a histogram (5 ms … 10 s buckets), absent with no attempt",
      ),
    queueDepth: z.number().int().describe("Deliveries waiting or in flight"),
    deadLetters: z.number().int(),
    lastError: z.object({ at: isoTime, message: z.string() }).optional(),
    rateLimit: z
      .object({
        limit: z.string().describe("As configured: `5/s`, `30/min, burst 3`"),
        waiting: z.boolean().describe("On this host, deliveries are waiting for the limit's next token"),
      })
      .optional()
      .describe("The action's rate limit, when it has one (docs/pacing.md)"),
    circuitBreaker: z
      .object({
        state: z
          .enum(["closed", "open", "half-open"])
          .describe(
            "On this host: open, nothing is attempted until the cool-down ends; half-open, one probes",
          ),
        failures: z.number().int(),
        coolDownMs: z.number().int(),
        replicas: z
          .array(
            z.object({
              replica: z.string(),
              state: z
                .enum(["open", "half-open"])
                .describe(
                  "Half-open: its cool-down has ended, and one delivery probes (or will, when one is due)",
                ),
              since: isoTime,
              until: isoTime.optional().describe("Open: when its cool-down ends"),
            }),
          )
          .describe(
            "Every replica's breaker that is not closed, as recorded in the state (this host's too); a replica that stopped is not listed",
          ),
      })
      .optional()
      .describe("The action's circuit breaker, when it has one; each replica keeps its own"),
  })
  .meta({ id: "Action" });

export const ActionsAnswer = z.object({ actions: z.array(ActionView) }).meta({ id: "Actions" });

export const ActionsQuery = z.object({
  tenant: z
    .string()
    .min(1)
    .optional()
    .describe(
      "Only the actions that take this tenant's events (a `sources` tenant; `default` for `source`); their last minute and hour, latency and last error count this tenant's attempts only, their queue depth and dead letters this tenant's deliveries",
    ),
});

export const ActivityAnswer = z
  .object({
    minutes: z
      .array(
        z.object({
          action: z.string(),
          minute: isoTime,
          delivered: z.number().int(),
          retrying: z.number().int(),
          dead: z.number().int(),
          stale: z.number().int(),
          meanDurationMs: z.number(),
        }),
      )
      .describe("Per action per minute, oldest first; minutes with no attempts are absent"),
  })
  .meta({ id: "Activity" });

export const ActivityQuery = z.object({
  minutes: z.coerce.number().int().min(1).max(1440).default(60).describe("How far back"),
  tenant: z
    .string()
    .min(1)
    .optional()
    .describe(
      "Only this tenant's attempts (a `sources` tenant; `default` for `source`); without it, every tenant's",
    ),
});

export const TenantStatus = z
  .object({
    tenant: z.string(),
    stream: z
      .object({
        connected: z.boolean(),
        leading: z
          .boolean()
          .describe("This host reads the tenant's stream (with Postgres state: holds its lease)"),
        readingAhead: z
          .boolean()
          .describe("With Postgres state: the leader writes ahead into the store for the other replicas"),
        leader: z
          .string()
          .optional()
          .describe("With Postgres state: the replica that reads the tenant's stream"),
        cursor: z.string().optional().describe("The tenant's stored stream cursor"),
      })
      .optional()
      .describe("The tenant's Auth0 stream on this host; absent when it has none (webhook only)"),
    webhook: z
      .object({ url: z.string() })
      .optional()
      .describe("Where the tenant's webhook listens; absent when it has none"),
  })
  .meta({ id: "TenantStatus" });

export const StatusAnswer = z
  .object({
    version: z.string(),
    engine: z.enum(["sqlite", "postgres"]),
    replica: z.string().describe("This host's replica id"),
    stream: z.object({
      configured: z.boolean().describe("An Auth0 stream source is configured"),
      connected: z.boolean(),
      leading: z.boolean().describe("This host reads the stream (with Postgres state: holds the lease)"),
      readingAhead: z
        .boolean()
        .describe(
          "With Postgres state: the leader writes what its actions cannot take now to the store for the other replicas (only while another is alive)",
        ),
      leader: z.string().optional().describe("With Postgres state: the replica that reads the stream"),
      cursor: z.string().optional().describe("The stored stream cursor"),
      lagSeconds: z.number().optional().describe("Age of the newest event read, when it was read"),
      reconnects: z.number().int(),
    }),
    webhook: z.object({ url: z.string() }).optional().describe("The first webhook's URL"),
    tenants: z
      .array(TenantStatus)
      .describe("Each configured tenant, in the config's order (one, `default`, for `source`)"),
    ready: z.boolean(),
  })
  .meta({ id: "Status" });

export const DeliveriesQuery = z.object({
  tenant: z
    .string()
    .min(1)
    .optional()
    .describe("Only this tenant's events' attempts (a `sources` tenant; `default` for `source`)"),
  eventId: z
    .string()
    .min(1)
    .optional()
    .describe("Only this event's attempts (with `tenant`, only that tenant's event of this id)"),
  type: z.string().min(1).optional().describe("Event type pattern: user.created, user.*, *"),
  action: z.string().min(1).optional(),
  outcome: z
    .enum(["delivered", "retrying", "dead", "stale", "filtered", "failed"])
    .optional()
    .describe("failed: retrying or dead"),
  since: isoTime.optional().describe("Started at or after"),
  until: isoTime.optional().describe("Started before"),
  cursor: z.string().optional().describe("The `next` of the previous page"),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

export const DeliveriesAnswer = z
  .object({
    items: z.array(Attempt).describe("Newest first"),
    next: z.string().optional().describe("Pass as `cursor` for the next (older) page; absent on the last"),
  })
  .meta({ id: "Deliveries" });

export const EventQuery = z.object({
  tenant: z
    .string()
    .min(1)
    .optional()
    .describe(
      "The tenant whose event it is; needed when several tenants have an event with this id (else 409)",
    ),
});

export const EventAnswer = z
  .object({
    tenant: z.string().describe("The tenant whose event it is (`default` for a config with one `source`)"),
    eventId: z.string(),
    type: z.string(),
    time: z.string(),
    receivedAt: isoTime,
    event: z
      .record(z.string(), z.unknown())
      .optional()
      .describe("The CloudEvent, while kept (as long as the delivery history)"),
    deliveries: z
      .array(
        z.object({
          action: z.string(),
          state: z.enum(["pending", "in flight", "dead"]),
          attempts: z.number().int(),
          dueAt: isoTime.optional(),
          lastError: z.string().optional(),
        }),
      )
      .describe("Deliveries not finished yet, and dead letters"),
    attempts: z.array(Attempt).describe("Every recorded attempt, every action, newest first"),
  })
  .meta({ id: "Event" });

export const DeadLetterQuery = z.object({
  action: z.string().min(1).optional(),
  tenant: z
    .string()
    .min(1)
    .optional()
    .describe("Only this tenant's (a `sources` tenant; `default` for `source`)"),
  eventId: z.string().min(1).optional(),
  type: z.string().min(1).optional().describe("Event type pattern: user.created, user.*, *"),
  since: isoTime.optional().describe("Dead-lettered at or after"),
  until: isoTime.optional().describe("Dead-lettered before"),
  cursor: z.string().optional().describe("The `next` of the previous page"),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

export const DeadLetterView = z
  .object({
    action: z.string(),
    tenant: z.string().describe("The tenant whose event it is (`default` for a config with one `source`)"),
    eventId: z.string(),
    eventType: z.string(),
    attempts: z.number().int(),
    lastError: z.string(),
    failedAt: isoTime,
    eventTime: z.string(),
  })
  .meta({ id: "DeadLetter" });

export const DeadLettersAnswer = z
  .object({
    items: z.array(DeadLetterView).describe("Oldest first, at most `limit`"),
    total: z.number().int().describe("How many match, regardless of `limit` and `cursor`"),
    next: z.string().optional().describe("Pass as `cursor` for the next (newer) page; absent on the last"),
  })
  .meta({ id: "DeadLetters" });

/** A selection of dead letters for a bulk operation; an empty selection needs `all: true`. */
export const DeadLetterSelection = z
  .strictObject({
    action: z.string().min(1).optional(),
    tenant: z.string().min(1).optional(),
    eventId: z.string().min(1).optional(),
    type: z.string().min(1).optional(),
    since: isoTime.optional(),
    until: isoTime.optional(),
    all: z.boolean().optional().describe("Required to select every dead letter (no other field)"),
    dryRun: z.boolean().optional().describe("Count only, change nothing"),
    force: z
      .boolean()
      .optional()
      .describe("Replay: also dead letters whose subject had a newer event delivered since (latest wins)"),
  })
  .meta({ id: "DeadLetterSelection" });

export const BulkAnswer = z
  .object({
    count: z.number().int().describe("How many dead letters it touched (or would, with dryRun)"),
    dryRun: z.boolean(),
    refused: z
      .array(z.object({ action: z.string(), tenant: z.string(), eventId: z.string(), reason: z.string() }))
      .optional()
      .describe("Replay: dead letters left dead because a newer event of their subject was delivered since"),
  })
  .meta({ id: "BulkResult" });

export const ActionStateAnswer = z
  .object({ name: z.string(), state: z.enum(["running", "paused"]) })
  .meta({ id: "ActionState" });

export const WhoamiAnswer = z
  .object({
    tokenRequired: z.boolean().describe("The server has admin tokens: every other call needs one"),
    name: z
      .string()
      .optional()
      .describe("The token's name (`loopback` without tokens); absent when no valid token was sent"),
    role: z
      .enum(["viewer", "operator"])
      .optional()
      .describe("viewer: reads everything, changes nothing; operator: also pauses, resumes, replays, purges"),
  })
  .meta({ id: "Whoami" });

export const AuditQuery = z.object({
  since: isoTime.optional().describe("Made at or after"),
  cursor: z.string().optional().describe("The `next` of the previous page"),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

export const AuditEntryView = z
  .object({
    id: z.number().int().describe("Increasing: newer entries have larger ids"),
    at: isoTime,
    actor: z
      .string()
      .describe(
        "The admin token's name, `loopback`, `cli:<user>@<host>`, `signal:SIGHUP` (a config reload by a bare signal), or `switchyard` (the host paused an action after too many consecutive failures)",
      ),
    operation: z.string().describe("pause, resume, replay, purge, send-test, reload, forget"),
    selection: z.record(z.string(), z.unknown()).describe("What it was applied to"),
    result: z.record(z.string(), z.unknown()).describe("What it changed, e.g. `count` dead letters"),
  })
  .meta({ id: "AuditEntry" });

export const AuditAnswer = z
  .object({
    items: z.array(AuditEntryView).describe("Newest first"),
    next: z.string().optional().describe("Pass as `cursor` for the next (older) page; absent on the last"),
  })
  .meta({ id: "Audit" });

export const OpenApiAnswer = z
  .record(z.string(), z.unknown())
  .meta({ id: "OpenApiDocument", description: "An OpenAPI 3.1 document" });
