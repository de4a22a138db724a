// The admin API's handlers, one per route of the table (routes.ts). Each gets its call's query and body
// already validated against the route's schemas, and returns its answer; the dispatcher (api.ts) writes it.
import { EVENT_LIMITS, nestedDeeperThan, patternError } from "@switchyard/core";
import type { z } from "zod";
import { tenantSources } from "../config/schema.js";
import {
  type ActionSummary,
  pauseAction,
  purgeDeadLetters,
  replayDeadLetters,
  resumeAction,
  selectsDeadLetters,
  summarizeActions,
} from "../operations.js";
import { latencyQuantile } from "../store/history.js";
import type {
  ActivityBucket,
  AttemptQuery,
  DeadLetterFilter,
  DeadLetterPosition,
  StoredAttempt,
} from "../store/types.js";
import { DEFAULT_TENANT } from "../tenants.js";
import { type AdminContext, ApiError, type Call } from "./route.js";
import type {
  ActionStateAnswer,
  ActionsAnswer,
  ActionsQuery,
  ActionView,
  ActivityAnswer,
  ActivityQuery,
  Attempt,
  AuditAnswer,
  AuditQuery,
  BulkAnswer,
  DeadLetterQuery,
  DeadLetterSelection,
  DeadLettersAnswer,
  DeliveriesAnswer,
  DeliveriesQuery,
  EventAnswer,
  EventQuery,
  StatusAnswer,
  TenantStatus,
  WhoamiAnswer,
} from "./schemas.js";

type In<S extends z.ZodType> = z.input<S>;
type Out<S extends z.ZodType> = z.output<S>;
type Of<Q = undefined, B = undefined> = Call<Q, B>;

const HOUR = 3_600_000;

const ms = (iso: string | undefined) => (iso === undefined ? undefined : Date.parse(iso));
const iso = (epochMs: number) => new Date(epochMs).toISOString();

/** The caller's name for the audit log (operator routes are only ever called by someone). */
const actor = (call: Of<unknown, unknown>) => call.who?.name ?? "unknown";

/** A cursor the API handed out: the last id of the previous page. */
function cursorOf(cursor: string | undefined): number | undefined {
  const before = cursor === undefined ? undefined : Number(cursor);
  if (before !== undefined && !Number.isSafeInteger(before)) {
    throw new ApiError(400, "query: cursor: pass the `next` of the previous page as it was");
  }
  return before;
}

function knownAction(ctx: AdminContext, name: string | undefined): void {
  if (name === undefined || ctx.loaded.config.actions.some((a) => a.name === name)) return;
  const names = ctx.loaded.config.actions.map((a) => a.name).join(", ");
  throw new ApiError(404, `unknown action "${name}" (configured: ${names})`);
}

function knownTenant(ctx: AdminContext, tenant: string | undefined): void {
  const known = tenantSources(ctx.loaded.config).map((source) => source.tenant);
  if (tenant === undefined || known.includes(tenant)) return;
  throw new ApiError(404, `unknown tenant "${tenant}" (configured: ${known.join(", ")})`);
}

function typePattern(type: string | undefined): void {
  const error = type === undefined ? undefined : patternError(type);
  if (error) throw new ApiError(400, `type: ${error}`);
}

export async function whoami(_ctx: AdminContext, call: Of): Promise<In<typeof WhoamiAnswer>> {
  return {
    tokenRequired: call.tokenRequired,
    ...(call.who ? { name: call.who.name, role: call.who.role } : {}),
  };
}

export async function status(ctx: AdminContext): Promise<In<typeof StatusAnswer>> {
  const { store, status, metrics } = ctx;
  const [cursor, leader, lag, reconnects] = await Promise.all([
    store.getCursor(),
    store.leadership?.leader(),
    metrics.lag.get(),
    metrics.reconnects.get(),
  ]);
  // Only the replica that reads the stream knows its lag.
  const lagSeconds = status.leading ? lag.values[0]?.value : undefined;
  return {
    version: ctx.version,
    engine: store.engine as "sqlite" | "postgres",
    replica: ctx.replica,
    stream: {
      configured: ctx.streamConfigured,
      connected: status.connected,
      leading: status.leading,
      readingAhead: status.readingAhead,
      ...(leader !== undefined ? { leader } : {}),
      ...(cursor !== undefined ? { cursor } : {}),
      ...(lagSeconds !== undefined ? { lagSeconds } : {}),
      reconnects: reconnects.values[0]?.value ?? 0,
    },
    ...(ctx.webhookUrl ? { webhook: { url: ctx.webhookUrl } } : {}),
    tenants: await Promise.all(
      tenantSources(ctx.loaded.config).map(({ tenant }) => tenantStatus(ctx, tenant)),
    ),
    ready: ctx.ready(),
  };
}

/** One tenant's stream on this host (when it reads one: status.streams) and its webhook's URL. */
async function tenantStatus(ctx: AdminContext, tenant: string): Promise<In<typeof TenantStatus>> {
  const stream = ctx.status.streams.get(tenant);
  const webhook = ctx.webhookUrls.find((route) => route.tenant === tenant);
  const [cursor, leader] = stream
    ? await Promise.all([ctx.store.getCursor(tenant), ctx.store.leadershipOf?.(tenant).leader()])
    : [];
  return {
    tenant,
    ...(stream
      ? {
          stream: {
            connected: stream.connected,
            leading: stream.leading,
            readingAhead: stream.readingAhead,
            ...(leader !== undefined ? { leader } : {}),
            ...(cursor !== undefined ? { cursor } : {}),
          },
        }
      : {}),
    ...(webhook ? { webhook: { url: webhook.url } } : {}),
  };
}

export async function actions(
  ctx: AdminContext,
  { query }: Of<Out<typeof ActionsQuery>>,
): Promise<In<typeof ActionsAnswer>> {
  knownTenant(ctx, query.tenant);
  const now = Date.now();
  // With a tenant, the action's attempts of that tenant's events (its minutes, latency and last error), and
  // its deliveries of them (queue depth, dead letters).
  const [summaries, buckets, latencies] = await Promise.all([
    summarizeActions(ctx.loaded, ctx.store, query.tenant),
    ctx.store.activity(now - HOUR, query.tenant),
    ctx.store.latency(now - HOUR, query.tenant),
  ]);
  const lastErrors = await Promise.all(
    summaries.map((a) =>
      ctx.store.searchAttempts({ action: a.name, tenant: query.tenant, outcome: "failed", limit: 1 }),
    ),
  );
  return {
    actions: summaries.map((a, i): In<typeof ActionView> => {
      const own = buckets.filter((b) => b.action === a.name);
      const last = lastErrors[i]![0];
      return {
        name: a.name,
        plugin: a.plugin,
        events: a.events,
        tenants: a.tenants,
        enabled: a.enabled,
        state: a.removed
          ? "removed"
          : !a.enabled
            ? "disabled"
            : a.failed !== undefined
              ? "failed"
              : a.paused
                ? "paused"
                : "running",
        ...(a.failed !== undefined ? { failedReason: a.failed } : {}),
        ...(a.paused && a.reason !== undefined ? { pausedReason: a.reason } : {}),
        ...(a.paused && a.since !== undefined ? { pausedSince: a.since } : {}),
        lastMinute: window(own.filter((b) => b.minute >= now - 60_000)),
        lastHour: window(own),
        latency: latencyOf(latencies.find((l) => l.action === a.name)?.counts ?? []),
        queueDepth: a.pending,
        deadLetters: a.dead,
        ...(last ? { lastError: { at: iso(last.startedAt), message: last.error ?? "" } } : {}),
        ...pacingOf(ctx, a),
      };
    }),
  };
}

/** p50 and p99 of a histogram (history.ts), to 0.1 ms. */
function latencyOf(counts: readonly number[]) {
  const tenth = (ms: number) => Math.round(ms * 10) / 10;
  const p50 = latencyQuantile(counts, 0.5);
  const p99 = latencyQuantile(counts, 0.99);
  return {
    attempts: counts.reduce((sum, n) => sum + n, 0),
    ...(p50 !== undefined ? { p50Ms: tenth(p50) } : {}),
    ...(p99 !== undefined ? { p99Ms: tenth(p99) } : {}),
  };
}

/** This host's view of an action's rate limit and circuit breaker, and every replica's breaker as recorded. */
function pacingOf(ctx: AdminContext, action: ActionSummary) {
  const { name, rateLimit: limit } = action;
  const view = ctx.control.pacing(name);
  const breaker = ctx.loaded.config.actions.find((a) => a.name === name)?.circuitBreaker;
  return {
    ...(limit !== undefined ? { rateLimit: { limit, waiting: view?.rateLimited ?? false } } : {}),
    ...(breaker
      ? {
          circuitBreaker: {
            state: view?.breaker ?? "closed",
            ...breaker,
            replicas: action.circuit?.replicas ?? [],
          },
        }
      : {}),
  };
}

function window(buckets: readonly ActivityBucket[]) {
  let delivered = 0;
  let retrying = 0;
  let dead = 0;
  let stale = 0;
  for (const b of buckets) {
    delivered += b.delivered;
    retrying += b.retrying;
    dead += b.dead;
    stale += b.stale;
  }
  return { delivered, failed: retrying + dead, dead, stale };
}

export async function activity(
  ctx: AdminContext,
  { query }: Of<Out<typeof ActivityQuery>>,
): Promise<In<typeof ActivityAnswer>> {
  knownTenant(ctx, query.tenant);
  const since = Math.floor((Date.now() - query.minutes * 60_000) / 60_000) * 60_000;
  const buckets = await ctx.store.activity(since, query.tenant);
  return {
    minutes: buckets.map((b) => {
      const attempts = b.delivered + b.retrying + b.dead + b.stale;
      return {
        action: b.action,
        minute: iso(b.minute),
        delivered: b.delivered,
        retrying: b.retrying,
        dead: b.dead,
        stale: b.stale,
        meanDurationMs: attempts > 0 ? b.durationMs / attempts : 0,
      };
    }),
  };
}

/** POST /api/actions/{name}/pause and /resume. */
export const setPaused =
  (verb: "pause" | "resume") =>
  async (ctx: AdminContext, call: Of): Promise<In<typeof ActionStateAnswer>> => {
    const name = call.params.name!;
    knownAction(ctx, name);
    if (verb === "pause") await pauseAction(ctx.store, name, actor(call));
    else await resumeAction(ctx.store, name, actor(call));
    await ctx.control.sync();
    return { name, state: verb === "pause" ? "paused" : "running" };
  };

const toAttempt = (a: StoredAttempt): In<typeof Attempt> => ({
  id: a.id,
  action: a.action,
  tenant: a.tenant,
  eventId: a.eventId,
  eventType: a.eventType,
  attempt: a.attempt,
  startedAt: iso(a.startedAt),
  durationMs: a.durationMs,
  outcome: a.outcome,
  ...(a.status !== undefined ? { status: a.status } : {}),
  ...(a.error !== undefined ? { error: a.error } : {}),
  replica: a.replica,
  ...(a.logs !== undefined ? { logs: a.logs.map((line) => ({ ...line, at: iso(line.at) })) } : {}),
});

export async function deliveries(
  ctx: AdminContext,
  { query: q }: Of<Out<typeof DeliveriesQuery>>,
): Promise<In<typeof DeliveriesAnswer>> {
  typePattern(q.type);
  knownAction(ctx, q.action);
  knownTenant(ctx, q.tenant);
  const search: AttemptQuery = {
    tenant: q.tenant,
    eventId: q.eventId,
    type: q.type,
    action: q.action,
    outcome: q.outcome,
    since: ms(q.since),
    until: ms(q.until),
    before: cursorOf(q.cursor),
    limit: q.limit,
  };
  const items = await ctx.store.searchAttempts(search);
  const last = items.at(-1);
  return {
    items: items.map(toAttempt),
    ...(items.length === q.limit && last ? { next: String(last.id) } : {}),
  };
}

export async function event(
  ctx: AdminContext,
  { params, query }: Of<Out<typeof EventQuery>>,
): Promise<In<typeof EventAnswer>> {
  const eventId = params.eventId!;
  const { tenant, record, attempts } = await findEvent(ctx, eventId, query.tenant);
  if (!record && attempts.length === 0) {
    throw new ApiError(
      404,
      `no event ${eventId}${query.tenant !== undefined ? ` of tenant "${tenant}"` : ""} in the state store (it may be older than the history's retention)`,
    );
  }
  const first = attempts.at(-1);
  let payload: Record<string, unknown> | undefined;
  if (record?.payload !== undefined) {
    try {
      payload = JSON.parse(record.payload) as Record<string, unknown>;
    } catch {
      payload = undefined;
    }
    // Stored before intake bounded nesting: the page still answers, without a body it could not serialise.
    if (nestedDeeperThan(payload, EVENT_LIMITS.maxDepth)) payload = undefined;
  }
  return {
    tenant,
    eventId,
    type: record?.type ?? first!.eventType,
    time: record?.time ?? "",
    receivedAt: iso(record?.receivedAt ?? first!.startedAt),
    ...(payload ? { event: payload } : {}),
    deliveries: (record?.deliveries ?? []).map((d) => ({
      action: d.action,
      state: d.state,
      attempts: d.attempts,
      ...(d.dueAt !== undefined ? { dueAt: iso(d.dueAt) } : {}),
      ...(d.lastError !== undefined ? { lastError: d.lastError } : {}),
    })),
    attempts: attempts.map(toAttempt),
  };
}

/**
 * An event by its id, with its attempts. Ids are unique per tenant only: without `tenant`, the id must name
 * one tenant's event (stored, or in the history), else the caller has to say which (409).
 */
async function findEvent(ctx: AdminContext, eventId: string, tenant: string | undefined) {
  if (tenant !== undefined) {
    const [record, attempts] = await Promise.all([
      ctx.store.event(eventId, tenant),
      ctx.store.searchAttempts({ eventId, tenant, limit: 500 }),
    ]);
    return { tenant, record, attempts };
  }
  const [stored, attempts] = await Promise.all([
    ctx.store.eventTenants(eventId),
    ctx.store.searchAttempts({ eventId, limit: 500 }),
  ]);
  const tenants = [...new Set([...stored, ...attempts.map((a) => a.tenant)])].sort();
  if (tenants.length > 1) {
    throw new ApiError(
      409,
      `event ${eventId} exists in several tenants (${tenants.join(", ")}): pass ?tenant= to say which`,
    );
  }
  const only = tenants[0] ?? DEFAULT_TENANT;
  const record = stored.length > 0 ? await ctx.store.event(eventId, only) : undefined;
  return { tenant: only, record, attempts };
}

function deadFilter(
  ctx: AdminContext,
  s: {
    action?: string | undefined;
    tenant?: string | undefined;
    eventId?: string | undefined;
    type?: string | undefined;
    since?: string | undefined;
    until?: string | undefined;
  },
): DeadLetterFilter {
  typePattern(s.type);
  knownAction(ctx, s.action);
  knownTenant(ctx, s.tenant);
  return {
    action: s.action,
    tenant: s.tenant,
    eventId: s.eventId,
    type: s.type,
    since: ms(s.since),
    until: ms(s.until),
  };
}

export async function deadLetters(
  ctx: AdminContext,
  { query: q }: Of<Out<typeof DeadLetterQuery>>,
): Promise<In<typeof DeadLettersAnswer>> {
  const filter = deadFilter(ctx, q);
  const [items, total] = await Promise.all([
    ctx.store.listDead({ ...filter, limit: q.limit, after: deadCursor(q.cursor) }),
    ctx.store.countDead(filter),
  ]);
  const last = items.at(-1);
  return {
    items: items.map(({ key: _, ...item }) => item),
    total,
    ...(items.length === q.limit && last
      ? { next: `${Date.parse(last.failedAt)}.${last.key}.${last.action}` }
      : {}),
  };
}

/** A dead letters' cursor the API handed out: `<failedAt ms>.<event key>.<action>` of a page's last one. */
function deadCursor(cursor: string | undefined): DeadLetterPosition | undefined {
  if (cursor === undefined) return undefined;
  const match = /^(\d{1,15})\.(\d{1,15})\.(.+)$/s.exec(cursor);
  if (!match) throw new ApiError(400, "query: cursor: pass the `next` of the previous page as it was");
  return { failedAt: Number(match[1]), key: Number(match[2]), action: match[3]! };
}

/** POST /api/dead-letters/replay and /purge. */
export const bulk =
  (verb: "replay" | "purge") =>
  async (
    ctx: AdminContext,
    call: Of<undefined, Out<typeof DeadLetterSelection>>,
  ): Promise<In<typeof BulkAnswer>> => {
    const selection = call.body;
    const filter = deadFilter(ctx, selection);
    const dryRun = selection.dryRun === true;
    if (!selection.all && !selectsDeadLetters(filter)) {
      throw new ApiError(
        400,
        `${verb} needs a selection (action, tenant, eventId, type, since, until) or "all": true`,
      );
    }
    if (verb === "purge") {
      const count = await purgeDeadLetters(ctx.store, filter, {
        actor: actor(call),
        all: selection.all,
        dryRun,
        how: '"all": true',
      });
      return { count, dryRun };
    }
    const { count, refused } = await replayDeadLetters(ctx.store, filter, {
      actor: actor(call),
      dryRun,
      force: selection.force,
    });
    if (!dryRun && count > 0) ctx.control.wake();
    return {
      count,
      dryRun,
      ...(refused.length > 0
        ? {
            refused: refused.map(({ action, tenant, eventId, reason }) => ({
              action,
              tenant,
              eventId,
              reason,
            })),
          }
        : {}),
    };
  };

export async function audit(
  ctx: AdminContext,
  { query: q }: Of<Out<typeof AuditQuery>>,
): Promise<In<typeof AuditAnswer>> {
  const items = await ctx.store.searchAudit({
    since: ms(q.since),
    before: cursorOf(q.cursor),
    limit: q.limit,
  });
  const last = items.at(-1);
  return {
    items: items.map((entry) => ({ ...entry, at: iso(entry.at) })),
    ...(items.length === q.limit && last ? { next: String(last.id) } : {}),
  };
}
