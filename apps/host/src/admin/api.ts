import type { IncomingMessage, ServerResponse } from "node:http";
import { EVENT_LIMITS, hasControlCharacter, nestedDeeperThan, patternError } from "@switchyard/core";
import type { z } from "zod";
import type { LoadedConfig } from "../config/load.js";
import type { ActionControl } from "../engine/control.js";
import type { HostStatus } from "../engine/status.js";
import type { Metrics } from "../metrics.js";
import {
  pauseAction,
  purgeDeadLetters,
  replayDeadLetters,
  resumeAction,
  SelectionRequiredError,
  selectsDeadLetters,
  summarizeActions,
} from "../operations.js";
import type {
  ActivityBucket,
  AttemptQuery,
  DeadLetterFilter,
  StateStore,
  StoredAttempt,
} from "../store/types.js";
import { openApiDocument } from "./openapi.js";
import {
  type ActionsAnswer,
  type ActionView,
  ActivityQuery,
  type Attempt,
  DeadLetterQuery,
  DeadLetterSelection,
  DeliveriesQuery,
  type EventAnswer,
  type StatusAnswer,
} from "./schemas.js";

/** What the admin API reads and changes: the running host's parts. */
export interface AdminContext {
  loaded: LoadedConfig;
  store: StateStore;
  status: HostStatus;
  metrics: Metrics;
  /** Applies a pause or resume on this host at once (other replicas follow within a second). */
  control: ActionControl;
  /** This host's replica id. */
  replica: string;
  version: string;
  /** Whether an Auth0 stream source is configured. */
  streamConfigured: boolean;
  webhookUrl?: string | undefined;
  ready: () => boolean;
}

/** A request the API refuses, with a message for the caller. */
class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const MAX_BODY = 64 * 1024;
const HOUR = 3_600_000;

type Handler = (ctx: AdminContext, req: IncomingMessage, url: URL, params: string[]) => Promise<unknown>;

const routes: Array<{ method: "GET" | "POST"; path: RegExp; handler: Handler }> = [
  { method: "GET", path: /^\/api\/openapi\.json$/, handler: async (ctx) => openApiDocument(ctx.version) },
  { method: "GET", path: /^\/api\/status$/, handler: status },
  { method: "GET", path: /^\/api\/actions$/, handler: actions },
  { method: "GET", path: /^\/api\/activity$/, handler: activity },
  { method: "POST", path: /^\/api\/actions\/([^/]+)\/(pause|resume)$/, handler: setPaused },
  { method: "GET", path: /^\/api\/deliveries$/, handler: deliveries },
  { method: "GET", path: /^\/api\/events\/([^/]+)$/, handler: event },
  { method: "GET", path: /^\/api\/dead-letters$/, handler: deadLetters },
  { method: "POST", path: /^\/api\/dead-letters\/(replay|purge)$/, handler: bulk },
];

/**
 * Answer one `/api/` request (the guard has let it through). Every answer is JSON, passed through the
 * config's redactor last, so that no secret of the config can appear in one whatever a field holds.
 */
export async function handleApi(
  ctx: AdminContext | undefined,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  redact: (text: string) => string,
): Promise<void> {
  const send = (status: number, body: unknown): void => {
    // Serialised before the head is written: a body that cannot be (too deep) still gets its 500.
    const text = redact(JSON.stringify(body));
    res
      .writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" })
      .end(text);
  };
  const path = url.pathname.replace(/\/+$/, "");
  const matching = routes.filter((route) => route.path.test(path));
  if (matching.length === 0) return send(404, { error: `no such API route: ${path}` });
  const route = matching.find((r) => r.method === (req.method === "HEAD" ? "GET" : req.method));
  if (!route) {
    res.setHeader("allow", matching.map((r) => r.method).join(", "));
    return send(405, { error: `${path} takes ${matching.map((r) => r.method).join(", ")}` });
  }
  if (!ctx) return send(503, { error: "the host is starting: its state store is not open yet" });
  try {
    const params = route.path.exec(path)!.slice(1).map(decodeParam);
    for (const value of url.searchParams.values()) checkParam(value);
    send(200, await route.handler(ctx, req, url, params));
  } catch (error) {
    if (error instanceof ApiError) return send(error.status, { error: error.message });
    if (error instanceof SelectionRequiredError) return send(400, { error: error.message });
    send(500, { error: "the state store could not answer; see the host's log" });
    throw error;
  }
}

/** A path parameter, percent-decoded; malformed encoding is the caller's error, not the host's. */
function decodeParam(raw: string): string {
  let value: string;
  try {
    value = decodeURIComponent(raw);
  } catch {
    throw new ApiError(400, `malformed percent-encoding in the path: ${raw.slice(0, 100)}`);
  }
  return checkParam(value);
}

/** No id, name or pattern holds a control character; PostgreSQL refuses NUL in text outright. */
function checkParam(value: string): string {
  if (hasControlCharacter(value)) throw new ApiError(400, "a parameter holds a control character");
  return value;
}

function parse<S extends z.ZodType>(schema: S, input: unknown, where: string): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = issue.path.length > 0 ? `${issue.path.join(".")}: ` : "";
  throw new ApiError(400, `${where}: ${field}${issue.message}`);
}

const query = (url: URL) => Object.fromEntries(url.searchParams);
const ms = (iso: string | undefined) => (iso === undefined ? undefined : Date.parse(iso));
const iso = (epochMs: number) => new Date(epochMs).toISOString();

function knownAction(ctx: AdminContext, name: string | undefined): void {
  if (name === undefined || ctx.loaded.config.actions.some((a) => a.name === name)) return;
  const names = ctx.loaded.config.actions.map((a) => a.name).join(", ");
  throw new ApiError(404, `unknown action "${name}" (configured: ${names})`);
}

function typePattern(type: string | undefined): void {
  const error = type === undefined ? undefined : patternError(type);
  if (error) throw new ApiError(400, `type: ${error}`);
}

async function status(ctx: AdminContext): Promise<z.input<typeof StatusAnswer>> {
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
      ...(leader !== undefined ? { leader } : {}),
      ...(cursor !== undefined ? { cursor } : {}),
      ...(lagSeconds !== undefined ? { lagSeconds } : {}),
      reconnects: reconnects.values[0]?.value ?? 0,
    },
    ...(ctx.webhookUrl ? { webhook: { url: ctx.webhookUrl } } : {}),
    ready: ctx.ready(),
  };
}

async function actions(ctx: AdminContext): Promise<z.input<typeof ActionsAnswer>> {
  const now = Date.now();
  const [summaries, buckets] = await Promise.all([
    summarizeActions(ctx.loaded, ctx.store),
    ctx.store.activity(now - HOUR),
  ]);
  const lastErrors = await Promise.all(
    summaries.map((a) => ctx.store.searchAttempts({ action: a.name, outcome: "failed", limit: 1 })),
  );
  return {
    actions: summaries.map((a, i): z.input<typeof ActionView> => {
      const own = buckets.filter((b) => b.action === a.name);
      const last = lastErrors[i]![0];
      return {
        name: a.name,
        plugin: a.plugin,
        events: a.events,
        enabled: a.enabled,
        state: !a.enabled ? "disabled" : a.failed !== undefined ? "failed" : a.paused ? "paused" : "running",
        ...(a.failed !== undefined ? { failedReason: a.failed } : {}),
        ...(a.paused && a.reason !== undefined ? { pausedReason: a.reason } : {}),
        ...(a.paused && a.since !== undefined ? { pausedSince: a.since } : {}),
        lastMinute: window(own.filter((b) => b.minute >= now - 60_000)),
        lastHour: window(own),
        queueDepth: a.pending,
        deadLetters: a.dead,
        ...(last ? { lastError: { at: iso(last.startedAt), message: last.error ?? "" } } : {}),
        ...pacingOf(ctx, a.name, a.rateLimit),
      };
    }),
  };
}

/** This host's view of an action's rate limit and circuit breaker. */
function pacingOf(ctx: AdminContext, name: string, limit: string | undefined) {
  const view = ctx.control.pacing(name);
  const breaker = ctx.loaded.config.actions.find((a) => a.name === name)?.circuitBreaker;
  return {
    ...(limit !== undefined ? { rateLimit: { limit, waiting: view?.rateLimited ?? false } } : {}),
    ...(breaker ? { circuitBreaker: { state: view?.breaker ?? "closed", ...breaker } } : {}),
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

async function activity(ctx: AdminContext, _req: IncomingMessage, url: URL) {
  const { minutes } = parse(ActivityQuery, query(url), "query");
  const since = Math.floor((Date.now() - minutes * 60_000) / 60_000) * 60_000;
  const buckets = await ctx.store.activity(since);
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

async function setPaused(ctx: AdminContext, req: IncomingMessage, _url: URL, [name, verb]: string[]) {
  await readJson(req);
  knownAction(ctx, name);
  if (verb === "pause") await pauseAction(ctx.store, name!);
  else await resumeAction(ctx.store, name!);
  await ctx.control.sync();
  return { name, state: verb === "pause" ? "paused" : "running" };
}

const toAttempt = (a: StoredAttempt): z.input<typeof Attempt> => ({
  id: a.id,
  action: a.action,
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

async function deliveries(ctx: AdminContext, _req: IncomingMessage, url: URL) {
  const q = parse(DeliveriesQuery, query(url), "query");
  typePattern(q.type);
  knownAction(ctx, q.action);
  const before = q.cursor === undefined ? undefined : Number(q.cursor);
  if (before !== undefined && !Number.isSafeInteger(before)) {
    throw new ApiError(400, "query: cursor: pass the `next` of the previous page as it was");
  }
  const search: AttemptQuery = {
    eventId: q.eventId,
    type: q.type,
    action: q.action,
    outcome: q.outcome,
    since: ms(q.since),
    until: ms(q.until),
    before,
    limit: q.limit,
  };
  const items = await ctx.store.searchAttempts(search);
  const last = items.at(-1);
  return {
    items: items.map(toAttempt),
    ...(items.length === q.limit && last ? { next: String(last.id) } : {}),
  };
}

async function event(
  ctx: AdminContext,
  _req: IncomingMessage,
  _url: URL,
  [eventId]: string[],
): Promise<z.input<typeof EventAnswer>> {
  const [record, attempts] = await Promise.all([
    ctx.store.event(eventId!),
    ctx.store.searchAttempts({ eventId, limit: 500 }),
  ]);
  if (!record && attempts.length === 0) {
    throw new ApiError(
      404,
      `no event ${eventId} in the state store (it may be older than the history's retention)`,
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
    eventId: eventId!,
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

function deadFilter(
  ctx: AdminContext,
  s: {
    action?: string | undefined;
    eventId?: string | undefined;
    type?: string | undefined;
    since?: string | undefined;
    until?: string | undefined;
  },
): DeadLetterFilter {
  typePattern(s.type);
  knownAction(ctx, s.action);
  return { action: s.action, eventId: s.eventId, type: s.type, since: ms(s.since), until: ms(s.until) };
}

async function deadLetters(ctx: AdminContext, _req: IncomingMessage, url: URL) {
  const q = parse(DeadLetterQuery, query(url), "query");
  const filter = deadFilter(ctx, q);
  const [items, total] = await Promise.all([
    ctx.store.listDead({ ...filter, limit: q.limit }),
    ctx.store.countDead(filter),
  ]);
  return { items, total };
}

async function bulk(ctx: AdminContext, req: IncomingMessage, _url: URL, [verb]: string[]) {
  const selection = parse(DeadLetterSelection, await readJson(req), "body");
  const filter = deadFilter(ctx, selection);
  const dryRun = selection.dryRun === true;
  if (!selection.all && !selectsDeadLetters(filter)) {
    throw new ApiError(400, `${verb} needs a selection (action, eventId, type, since, until) or "all": true`);
  }
  if (verb === "purge") {
    const count = await purgeDeadLetters(ctx.store, filter, {
      all: selection.all,
      dryRun,
      how: '"all": true',
    });
    return { count, dryRun };
  }
  const { count, refused } = await replayDeadLetters(ctx.store, filter, { dryRun, force: selection.force });
  if (!dryRun && count > 0) ctx.control.wake();
  return {
    count,
    dryRun,
    ...(refused.length > 0
      ? { refused: refused.map(({ action, eventId, reason }) => ({ action, eventId, reason })) }
      : {}),
  };
}

/** The request's JSON body (at most 64 KB); `{}` when empty. */
async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new ApiError(413, "the body is larger than 64 KB");
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString("utf8").trim();
  if (text === "") return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ApiError(400, "body: not valid JSON");
  }
  // Selections are flat: a string field is an id, a name, a pattern or a time.
  if (body !== null && typeof body === "object") {
    for (const value of Object.values(body)) if (typeof value === "string") checkParam(value);
  }
  return body;
}
