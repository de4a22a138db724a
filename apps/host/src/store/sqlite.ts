import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { CacheRecord } from "@switchyard/core";
import Database from "better-sqlite3";
import { cursorKey, DEFAULT_TENANT } from "../tenants.js";
import { actionStateOf, actionStateRow } from "./action-state.js";
import { deadLetterClauses, limitOf, type SqlValue } from "./dead-filter.js";
import { eventTimeMs, isNewer } from "./latest.js";
import { SchemaTooNewError } from "./schema-version.js";
import { AUDIT_SCHEMA, sqliteAudit } from "./sqlite-audit.js";
import { BREAKERS_SCHEMA, sqliteBreakers } from "./sqlite-breakers.js";
import { HISTORY_COLUMNS, HISTORY_SCHEMA, sqliteHistory } from "./sqlite-history.js";
import type {
  ActionState,
  ClaimedDelivery,
  Completion,
  DeadLetter,
  DeadLetterFilter,
  IngestEvent,
  IngestResult,
  StateStore,
  StoreStats,
  SupersededDeadLetter,
  Watermark,
} from "./types.js";

/** The store contract, answered synchronously: SQLite's calls block (the host runs them on a thread). */
export type SqliteStore = {
  [K in Exclude<
    keyof StateStore,
    | "engine"
    | "replicaId"
    | "leadership"
    | "leadershipOf"
    | "inFlightOrder"
    | "heldDeliveries"
    | "rateBuckets"
  >]-?: StateStore[K] extends (...args: infer A) => Promise<infer R> ? (...args: A) => R : never;
};

// Layout notes (performance-notes.md): an event is stored once, keyed by an integer; deliveries reference it
// by that integer, so inserts never index random text per delivery. Finished deliveries are deleted, which
// keeps the pending index small however long the host runs.
//
// A delivery the host runs at once from memory (nearly all of them) gets no row at all: the event's `claims`
// lists the actions that took it, and each action's watermark says up to which event all of its held
// deliveries have finished or have a row. Only retries, dead letters, long-running attempts and backlog get
// rows. After a crash, `recover` gives a row to every claim above its action's watermark: those are
// delivered again (at least once), the others are done.
const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS actions (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS events (
  id INTEGER PRIMARY KEY,
  tenant TEXT NOT NULL DEFAULT 'default', -- version 6: the config's tenant it came from (ids dedupe per tenant)
  event_id TEXT NOT NULL,
  type TEXT NOT NULL,
  time TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  payload TEXT,
  claims TEXT,                      -- ids of the actions that took the event in memory, e.g. "1,3", each
                                    -- with its order key if it has one: "1=auth0%7C42" (see claimOf)
  trace TEXT,                       -- the trace context of its intake span, when traces are exported
  UNIQUE (tenant, event_id)
);
CREATE TABLE IF NOT EXISTS deliveries (
  action INTEGER NOT NULL,
  event INTEGER NOT NULL,
  status INTEGER NOT NULL,          -- 0 pending, 1 in flight, 3 dead; delivered rows are deleted
  attempts INTEGER NOT NULL DEFAULT 0,
  due_at INTEGER NOT NULL,
  order_key TEXT,
  last_error TEXT,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (action, event)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (action, due_at) WHERE status = 0;
CREATE INDEX IF NOT EXISTS deliveries_order ON deliveries (action, order_key, event) WHERE order_key IS NOT NULL;
-- Ordered actions' claims: pending rows in stream order, and a key's pending rows by due time (a retry not
-- yet due holds its key's later rows back). Added without a version change: older code ignores them.
CREATE INDEX IF NOT EXISTS deliveries_next ON deliveries (action, event) WHERE status = 0;
CREATE INDEX IF NOT EXISTS deliveries_later ON deliveries (action, order_key, due_at) WHERE status = 0 AND order_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS deliveries_dead ON deliveries (event) WHERE status = 3;
CREATE INDEX IF NOT EXISTS events_received ON events (received_at);
CREATE TABLE IF NOT EXISTS watermarks (action INTEGER PRIMARY KEY, upto INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS action_states (
  action TEXT PRIMARY KEY,
  paused INTEGER NOT NULL,
  reason TEXT,
  since INTEGER
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS cache (
  action INTEGER NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (action, key)
) WITHOUT ROWID;
-- Version 3, latest wins: per action and subject, the newest event delivered to it (its time, epoch ms, then
-- its key: the stream position). An older event of the subject is stale for that action.
CREATE TABLE IF NOT EXISTS latest (
  action INTEGER NOT NULL,
  subject TEXT NOT NULL,
  time INTEGER NOT NULL,
  event INTEGER NOT NULL,
  PRIMARY KEY (action, subject)
) WITHOUT ROWID;
`;

/** The schema version this code writes (`PRAGMA user_version`); a newer store is refused, not guessed at. */
export const SQLITE_SCHEMA_VERSION = 6;

const PENDING = 0;
const IN_FLIGHT = 1;
const DEAD = 3;

export interface SqliteStoreOptions {
  /** `normal` (default) survives a killed process; `full` also survives a power cut, ~10% slower. */
  synchronous?: "normal" | "full";
}

/** The embedded store: one SQLite file in WAL mode (better-sqlite3). */
export function openSqliteStore(file: string, options: SqliteStoreOptions = {}): SqliteStore {
  mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma(`synchronous = ${options.synchronous === "full" ? "FULL" : "NORMAL"}`);
  db.pragma("busy_timeout = 5000");
  // A larger page cache keeps the hot B-tree pages (recent events, the pending index) in memory.
  db.pragma("cache_size = -8000");
  // Checkpoint every 4,000 pages (16 MB of WAL), not SQLite's 1,000: each commit dirties a page of the
  // event-id index per event (the ids are random), and a checkpoint copies each page once however often it
  // changed since the last, so rarer checkpoints copy far fewer. Measured: ~21 -> ~17 µs of CPU per event.
  db.pragma("wal_autocheckpoint = 4000");
  db.pragma(`journal_size_limit = ${64 * 1024 * 1024}`);
  db.pragma("foreign_keys = OFF");
  const version = db.pragma("user_version", { simple: true }) as number;
  if (version > SQLITE_SCHEMA_VERSION) {
    db.close();
    throw new SchemaTooNewError(file, version, SQLITE_SCHEMA_VERSION);
  }
  db.exec(SCHEMA);
  // Version 6: events carry their tenant, and ids are unique per tenant.
  migrateEventTenants(db);
  // Version 2 adds the delivery history's tables (sqlite-history.ts).
  db.exec(HISTORY_SCHEMA);
  // Version 4 adds the audit log (sqlite-audit.ts).
  db.exec(AUDIT_SCHEMA);
  // Version 5 adds the breakers' states (sqlite-breakers.ts).
  db.exec(BREAKERS_SCHEMA);
  // Stores made before claims were recorded: add the column (their deliveries all have rows). Version 3
  // adds columns to the history's tables.
  for (const { table, column, declaration } of [
    { table: "events", column: "claims", declaration: "TEXT" },
    // Version 4: a replayed dead letter's attempts before its replays (ClaimedDelivery.attemptsBefore).
    { table: "deliveries", column: "attempts_before", declaration: "INTEGER NOT NULL DEFAULT 0" },
    // Traces (telemetry/): added without a version, as older code reads the table without it.
    { table: "events", column: "trace", declaration: "TEXT" },
    ...HISTORY_COLUMNS,
  ]) {
    const columns = db
      .prepare<[string], { name: string }>("SELECT name FROM pragma_table_info(?)")
      .all(table);
    if (!columns.some((c) => c.name === column))
      db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${declaration}`);
  }
  if (version < SQLITE_SCHEMA_VERSION) db.pragma(`user_version = ${SQLITE_SCHEMA_VERSION}`);

  const actionIds = new Map<string, number>();
  const actionNames = new Map<number, string>();
  const selectAction = db.prepare<[string], { id: number }>("SELECT id FROM actions WHERE name = ?");
  const insertAction = db.prepare<[string]>("INSERT OR IGNORE INTO actions (name) VALUES (?)");
  const actionId = (name: string): number => {
    let id = actionIds.get(name);
    if (id === undefined) {
      insertAction.run(name);
      id = selectAction.get(name)!.id;
      actionIds.set(name, id);
      actionNames.set(id, name);
    }
    return id;
  };
  const knownAction = (name: string): number | undefined => {
    const id = actionIds.get(name) ?? selectAction.get(name)?.id;
    if (id !== undefined && !actionIds.has(name)) {
      actionIds.set(name, id);
      actionNames.set(id, name);
    }
    return id;
  };
  const actionName = (id: number): string => {
    let name = actionNames.get(id);
    if (name === undefined) {
      name =
        db.prepare<[number], { name: string }>("SELECT name FROM actions WHERE id = ?").get(id)?.name ??
        `#${id}`;
      actionNames.set(id, name);
    }
    return name;
  };

  const getMeta = db.prepare<[string], { value: string }>("SELECT value FROM meta WHERE key = ?");
  const setMeta = db.prepare<[string, string]>(
    "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
  );
  const insertEvent = db.prepare<
    [string, string, string, string, number, string, string | null, string | null],
    { id: number }
  >(
    "INSERT INTO events (tenant, event_id, type, time, received_at, payload, claims, trace) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(tenant, event_id) DO NOTHING RETURNING id",
  );
  const insertDelivery = db.prepare<[number, number, number, number, string | null, number]>(
    "INSERT OR IGNORE INTO deliveries (action, event, status, attempts, due_at, order_key, updated_at) VALUES (?, ?, ?, 0, ?, ?, ?)",
  );
  const deleteDelivery = db.prepare<[number, number]>(
    "DELETE FROM deliveries WHERE action = ? AND event = ?",
  );
  // A retry or a dead letter of a held delivery creates its row; one read from the store updates it.
  const settleDelivery = db.prepare<[number, number, number, number, number, string | null, string, number]>(
    `INSERT INTO deliveries (action, event, status, attempts, due_at, order_key, last_error, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT(action, event) DO UPDATE SET status = excluded.status, attempts = excluded.attempts,
       due_at = excluded.due_at, last_error = excluded.last_error, updated_at = excluded.updated_at`,
  );
  const insertRunning = db.prepare<[number, number, number, number, string | null, number]>(
    `INSERT OR IGNORE INTO deliveries (action, event, status, attempts, due_at, order_key, updated_at) VALUES (?, ?, ${IN_FLIGHT}, ?, ?, ?, ?)`,
  );
  // Latest wins: a subject's mark only ever moves to a newer event (by time, then stream position).
  const upsertLatest = db.prepare<[number, string, number, number]>(
    `INSERT INTO latest (action, subject, time, event) VALUES (?, ?, ?, ?)
     ON CONFLICT(action, subject) DO UPDATE SET time = excluded.time, event = excluded.event
     WHERE (excluded.time, excluded.event) > (latest.time, latest.event)`,
  );
  const selectLatest = db.prepare<[number, string], { time: number; event: number }>(
    "SELECT time, event FROM latest WHERE action = ? AND subject = ?",
  );
  // An ordered delivery is held in memory only when no earlier one of its key waits in the store. One in
  // flight does not count: on SQLite (one host) it is in this host's memory, where the runner's turns order
  // it (engine/key-turns.ts). Counting it sent a busy subject's every event through the store for good.
  const keyUnfinished = db.prepare<[number, string], { one: number }>(
    `SELECT 1 AS one FROM deliveries WHERE action = ? AND order_key = ? AND status = ${PENDING} LIMIT 1`,
  );
  // Whether the action has any pending keyed row at all: asked once per batch, so that an action with none
  // (the usual case) asks nothing per delivery.
  const anyKeyPending = db.prepare<[number], { one: number }>(
    `SELECT 1 AS one FROM deliveries INDEXED BY deliveries_later WHERE action = ? AND order_key IS NOT NULL AND status = ${PENDING} LIMIT 1`,
  );
  // Ingest creates an action's watermark, just below its first claim, before any claim can need it.
  const startWatermark = db.prepare<[number, number]>(
    "INSERT OR IGNORE INTO watermarks (action, upto) VALUES (?, ?)",
  );
  const moveWatermark = db.prepare<[number, number]>(
    "UPDATE watermarks SET upto = max(upto, ?) WHERE action = ?",
  );
  const watermarked = new Set<number>();
  const selectDue = db.prepare<
    [number, number, number],
    { event: number; attempts: number; attempts_before: number; payload: string; trace: string | null }
  >(
    `SELECT d.event, d.attempts, d.attempts_before, e.payload, e.trace FROM deliveries d JOIN events e ON e.id = d.event
     WHERE d.action = ? AND d.status = ${PENDING} AND d.due_at <= ? ORDER BY d.due_at, d.event LIMIT ?`,
  );
  // Ordered actions: due rows in stream order, but none behind an earlier row of its key that waits for a
  // later time (a retry): the rows taken are, per key, a prefix of its pending ones. An earlier row in flight
  // does not hold one back: on SQLite (one host) it is in this host's memory, where the runner's turns queue
  // the later one behind it (engine/key-turns.ts). Holding them back made every claim of a busy subject scan
  // its whole backlog to take one row. Dead letters do not block: one poisoned event must not stall a user's
  // later events forever.
  const selectDueOrdered = db.prepare<
    [number, number, number, number],
    { event: number; attempts: number; attempts_before: number; payload: string; trace: string | null }
  >(
    `SELECT d.event, d.attempts, d.attempts_before, e.payload, e.trace FROM deliveries d INDEXED BY deliveries_next JOIN events e ON e.id = d.event
     WHERE d.action = ? AND d.status = ${PENDING} AND d.due_at <= ?
       AND (d.order_key IS NULL OR NOT EXISTS (
         SELECT 1 FROM deliveries p INDEXED BY deliveries_later
         WHERE p.action = d.action AND p.order_key = d.order_key AND p.status = ${PENDING} AND p.due_at > ?
           AND p.event < d.event))
     ORDER BY d.event LIMIT ?`,
  );
  const markInFlight = db.prepare<[number, number, number]>(
    `UPDATE deliveries SET status = ${IN_FLIGHT}, updated_at = ? WHERE action = ? AND event = ?`,
  );

  const minUnfinished = db.prepare<[number], { event: number | null }>(
    `SELECT min(event) AS event FROM deliveries WHERE action = ? AND status IN (${PENDING}, ${IN_FLIGHT})`,
  );

  const ingestTx = db.transaction(
    (events: readonly IngestEvent[], cursor: string | undefined, tenant: string): IngestResult => {
      const now = Date.now();
      const keys: Array<number | undefined> = [];
      const declined: Array<[number, string]> = [];
      const declinedDeliveries = new Set<object>();
      // Per action: whether a pending keyed row may exist (then each held delivery asks about its key).
      const keysPending = new Map<number, boolean>();
      const mayWait = (action: number): boolean => {
        let pending = keysPending.get(action);
        if (pending === undefined) {
          pending = anyKeyPending.get(action) !== undefined;
          keysPending.set(action, pending);
        }
        return pending;
      };
      for (const [index, item] of events.entries()) {
        let claims: string | null = null;
        for (const delivery of item.deliveries) {
          if (!delivery.held) continue;
          const action = actionId(delivery.action);
          if (delivery.orderKey !== null && mayWait(action) && keyUnfinished.get(action, delivery.orderKey)) {
            // Its row is written below, pending, once the event has its key.
            declined.push([index, delivery.action]);
            declinedDeliveries.add(delivery);
            continue;
          }
          const claim = claimOf(action, delivery.orderKey);
          claims = claims === null ? claim : `${claims},${claim}`;
        }
        const row = insertEvent.get(
          tenant,
          item.event.id,
          item.event.type,
          item.event.time,
          now,
          item.payload,
          claims,
          item.trace ?? null,
        );
        keys.push(row?.id);
        if (!row) continue;
        for (const delivery of item.deliveries) {
          const action = actionId(delivery.action);
          if (!delivery.held || declinedDeliveries.has(delivery)) {
            insertDelivery.run(action, row.id, PENDING, now, delivery.orderKey, now);
            if (delivery.orderKey !== null) keysPending.set(action, true);
          } else if (!watermarked.has(action)) {
            startWatermark.run(action, row.id - 1);
            watermarked.add(action);
          }
        }
      }
      if (cursor !== undefined) setMeta.run(cursorKey(tenant), cursor);
      if (declined.length === 0) return { keys };
      // A duplicate event wrote no row: nothing of it was declined.
      const written = declined.filter(([index]) => keys[index] !== undefined);
      return written.length > 0 ? { keys, declined: written } : { keys };
    },
  );

  const claimTx = db.transaction((action: string, limit: number, now: number, ordered: boolean) => {
    const id = actionId(action);
    const rows = ordered ? selectDueOrdered.all(id, now, now, limit) : selectDue.all(id, now, limit);
    const claimed: ClaimedDelivery[] = [];
    for (const row of rows) {
      markInFlight.run(now, id, row.event);
      // A payload is only dropped once no delivery needs it; guard anyway rather than deliver nothing.
      if (row.payload === null) continue;
      const delivery: ClaimedDelivery = {
        key: row.event,
        action,
        attempts: row.attempts,
        payload: row.payload,
      };
      if (row.attempts_before > 0) delivery.attemptsBefore = row.attempts_before;
      if (row.trace !== null) delivery.trace = row.trace;
      claimed.push(delivery);
    }
    return claimed;
  });

  const completeTx = db.transaction(
    (completions: readonly Completion[], watermarks: readonly Watermark[]) => {
      const now = Date.now();
      for (const c of completions) {
        const id = actionId(c.action);
        if (c.result === "delivered") {
          if (!c.rowless) deleteDelivery.run(id, c.key);
          if (c.latest) upsertLatest.run(id, c.latest.subject, c.latest.time, c.key);
        } else if (c.result === "retry") {
          settleDelivery.run(id, c.key, PENDING, c.attempts, c.dueAt, c.orderKey ?? null, c.error, now);
        } else if (c.result === "dead") {
          settleDelivery.run(id, c.key, DEAD, c.attempts, now, c.orderKey ?? null, c.error, now);
        } else {
          insertRunning.run(id, c.key, c.attempts, now, c.orderKey ?? null, now);
        }
      }
      for (const mark of watermarks) moveWatermark.run(mark.upto, actionId(mark.action));
    },
  );

  // The claims of a crashed run that its watermarks had not passed: each gets a due row.
  const recoverClaims = (now: number): number => {
    const marks = new Map(
      db
        .prepare<[], { action: number; upto: number }>("SELECT action, upto FROM watermarks")
        .all()
        .map((m) => [m.action, m.upto]),
    );
    if (marks.size === 0) return 0;
    const lowest = Math.min(...marks.values());
    let recovered = 0;
    const claimed = db.prepare<[number], { id: number; claims: string }>(
      "SELECT id, claims FROM events WHERE id > ? AND claims IS NOT NULL ORDER BY id",
    );
    for (const event of claimed.all(lowest)) {
      for (const claim of event.claims.split(",")) {
        const { action, orderKey } = parseClaim(claim);
        const upto = marks.get(action);
        if (upto !== undefined && event.id > upto) {
          recovered += insertDelivery.run(action, event.id, PENDING, now, orderKey, now).changes;
        }
      }
    }
    return recovered;
  };

  // The matching dead letters' WHERE clause (dead-filter.ts), its parameters and LIMIT.
  const deadWhere = (filter: DeadLetterFilter = {}, except: readonly SupersededDeadLetter[] = []) => {
    const clauses = [`d.status = ${DEAD}`];
    const params: SqlValue[] = [];
    const bind = (value: SqlValue) => {
      params.push(value);
      return "?";
    };
    if (except.length > 0) {
      const pairs = except.map((s) => `(${bind(actionId(s.action))}, ${bind(s.eventId)})`);
      clauses.push(`(d.action, e.event_id) NOT IN (VALUES ${pairs.join(", ")})`);
    }
    clauses.push(
      ...deadLetterClauses(filter, {
        bind,
        action: actionId,
        // An action this store never saw sorts before all (ids start at 1).
        positionAction: (name) => knownAction(name) ?? 0,
        likeEscape: " ESCAPE '\\'",
      }),
    );
    return { where: clauses.join(" AND "), params, limit: limitOf(filter) };
  };
  // The (action, event) pairs of the matching dead letters, oldest first.
  const deadKeys = (filter: DeadLetterFilter, except?: readonly SupersededDeadLetter[]) => {
    const { where, params, limit } = deadWhere(filter, except);
    return {
      sql: `SELECT d.action, d.event FROM deliveries d JOIN events e ON e.id = d.event WHERE ${where} ORDER BY d.updated_at, d.event, d.action${limit}`,
      params,
    };
  };

  const selectStates = db.prepare<
    [],
    { action: string; paused: number; reason: string | null; since: number | null }
  >("SELECT action, paused, reason, since FROM action_states");
  const upsertState = db.prepare<[string, number, string | null, number | null]>(
    `INSERT INTO action_states (action, paused, reason, since) VALUES (?, ?, ?, ?)
     ON CONFLICT(action) DO UPDATE SET paused = excluded.paused, reason = excluded.reason, since = excluded.since`,
  );
  const loadCache = db.prepare<[number, number], { key: string; value: string; expires_at: number }>(
    "SELECT key, value, expires_at FROM cache WHERE action = ? AND expires_at > ?",
  );
  const saveCache = db.prepare<[number, string, string, number]>(
    "INSERT INTO cache (action, key, value, expires_at) VALUES (?, ?, ?, ?) ON CONFLICT(action, key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at",
  );
  const removeCache = db.prepare<[number, string]>("DELETE FROM cache WHERE action = ? AND key = ?");

  return {
    ...sqliteHistory(db, { id: actionId, find: knownAction, name: actionName }),
    ...sqliteAudit(db),
    ...sqliteBreakers(db),
    getCursor: (tenant = DEFAULT_TENANT) => getMeta.get(cursorKey(tenant))?.value,
    ingest: (events, cursor, tenant = DEFAULT_TENANT) => ingestTx(events, cursor, tenant),
    claim: (action, limit, now, ordered) => claimTx(action, limit, now, ordered),
    complete(completions, watermarks = []) {
      if (completions.length > 0 || watermarks.length > 0) completeTx(completions, watermarks);
    },
    recover: db.transaction(() => {
      const inFlight = db
        .prepare(`UPDATE deliveries SET status = ${PENDING} WHERE status = ${IN_FLIGHT}`)
        .run().changes;
      const claims = recoverClaims(Date.now());
      // Every claim now has a row: this run starts new watermarks at its own first claims.
      db.exec("DELETE FROM watermarks");
      watermarked.clear();
      return inFlight + claims;
    }),
    listDead(filter) {
      const { where, params, limit } = deadWhere(filter);
      const rows = db
        .prepare<
          Array<string | number>,
          {
            action: number;
            event: number;
            tenant: string;
            event_id: string;
            type: string;
            time: string;
            attempts: number;
            last_error: string | null;
            updated_at: number;
          }
        >(
          `SELECT d.action, d.event, e.tenant, e.event_id, e.type, e.time, d.attempts, d.last_error, d.updated_at
           FROM deliveries d JOIN events e ON e.id = d.event WHERE ${where} ORDER BY d.updated_at, d.event, d.action${limit}`,
        )
        .all(...params);
      return rows.map(
        (row): DeadLetter => ({
          action: actionName(row.action),
          tenant: row.tenant,
          eventId: row.event_id,
          eventType: row.type,
          attempts: row.attempts,
          lastError: row.last_error ?? "",
          failedAt: new Date(row.updated_at).toISOString(),
          eventTime: row.time,
          key: row.event,
        }),
      );
    },
    countDead(filter) {
      const { sql, params } = deadKeys({ ...filter });
      return db
        .prepare<Array<string | number>, { n: number }>(`SELECT count(*) AS n FROM (${sql})`)
        .get(...params)!.n;
    },
    replayDead(filter, now, superseded) {
      const { sql, params } = deadKeys(filter, superseded);
      return db
        .prepare(
          `UPDATE deliveries SET status = ${PENDING}, attempts_before = attempts_before + attempts, attempts = 0,
             due_at = ?, updated_at = ?
           WHERE (action, event) IN (${sql})`,
        )
        .run(now, now, ...params).changes;
    },
    supersededDead(filter) {
      const { where, params, limit } = deadWhere(filter);
      const rows = db
        .prepare<
          Array<string | number>,
          {
            action: number;
            event_id: string;
            time: string;
            event: number;
            mark_time: number;
            mark_event: number;
          }
        >(
          `SELECT d.action, e.event_id, e.time, d.event, l.time AS mark_time, l.event AS mark_event
           FROM deliveries d JOIN events e ON e.id = d.event
             JOIN latest l ON l.action = d.action AND l.subject = d.order_key
           WHERE ${where} ORDER BY d.updated_at, d.event, d.action${limit}`,
        )
        .all(...params);
      const eventIdOf = db.prepare<[number], { event_id: string }>(
        "SELECT event_id FROM events WHERE id = ?",
      );
      return rows.flatMap((row): SupersededDeadLetter[] => {
        const time = eventTimeMs(row.time);
        if (time === undefined || !isNewer({ time: row.mark_time, key: row.mark_event }, time, row.event))
          return [];
        return [
          {
            action: actionName(row.action),
            eventId: row.event_id,
            newerEventId: eventIdOf.get(row.mark_event)?.event_id,
            newerTime: new Date(row.mark_time).toISOString(),
          },
        ];
      });
    },
    latestDelivered(action, subject) {
      const id = knownAction(action);
      const row = id === undefined ? undefined : selectLatest.get(id, subject);
      return row ? { time: row.time, key: row.event } : undefined;
    },
    purgeDead(filter) {
      const { sql, params } = deadKeys(filter);
      return db.prepare(`DELETE FROM deliveries WHERE (action, event) IN (${sql})`).run(...params).changes;
    },
    actionStates() {
      const states: Record<string, ActionState> = {};
      for (const row of selectStates.all()) {
        states[row.action] = actionStateOf({ ...row, paused: row.paused === 1 });
      }
      return states;
    },
    setActionState(action, state) {
      const row = actionStateRow(state);
      upsertState.run(action, row.paused ? 1 : 0, row.reason, row.since);
    },
    countUnfinished() {
      return (
        db
          .prepare<[], { n: number }>(
            `SELECT count(*) AS n FROM deliveries WHERE status IN (${PENDING}, ${IN_FLIGHT})`,
          )
          .get()?.n ?? 0
      );
    },
    stats() {
      const rows = db
        .prepare<[], { action: number; status: number; n: number }>(
          "SELECT action, status, count(*) AS n FROM deliveries GROUP BY action, status",
        )
        .all();
      const stats: StoreStats = { pending: {}, dead: {} };
      for (const row of rows) {
        const name = actionName(row.action);
        const bucket = row.status === DEAD ? stats.dead : stats.pending;
        bucket[name] = (bucket[name] ?? 0) + row.n;
      }
      return stats;
    },
    loadCache(action) {
      return loadCache
        .all(actionId(action), Date.now())
        .map((row) => [row.key, { value: row.value, expires_at: row.expires_at } satisfies CacheRecord]);
    },
    saveCache(action, key, record) {
      saveCache.run(actionId(action), key, record.value, record.expires_at);
    },
    removeCache(action, key) {
      removeCache.run(actionId(action), key);
    },
    prune(now, dedupeWindowMs, keepPayloadsMs = 0) {
      // Events below the lowest unfinished delivery are finished (unless dead-lettered): their payloads can
      // go (once `keepPayloadsMs` old), and their ids too once they are older than the dedupe window and
      // `keepPayloadsMs`. Deliveries are keyed (action, event), so the lowest unfinished event is one cheap
      // lookup per action. Claims above a watermark may still need their payloads (`recover`).
      const newest = db.prepare<[], { id: number | null }>("SELECT max(id) AS id FROM events").get()?.id ?? 0;
      let lowest = newest + 1;
      for (const { id } of db.prepare<[], { id: number }>("SELECT id FROM actions").all()) {
        const row = minUnfinished.get(id);
        if (row?.event != null) lowest = Math.min(lowest, row.event);
      }
      const mark = db.prepare<[], { upto: number | null }>("SELECT min(upto) AS upto FROM watermarks").get();
      if (mark?.upto != null) lowest = Math.min(lowest, mark.upto + 1);
      // Payloads still kept for the event page: those received since the cutoff (keys grow with time).
      let payloadsBelow = lowest;
      if (keepPayloadsMs > 0) {
        const kept = db
          .prepare<[number], { id: number }>(
            "SELECT id FROM events WHERE received_at >= ? ORDER BY received_at LIMIT 1",
          )
          .get(now - keepPayloadsMs);
        if (kept) payloadsBelow = Math.min(payloadsBelow, kept.id);
      }
      const from = Number(getMeta.get("pruned_upto")?.value ?? 0);
      const notDead = "NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event = events.id AND d.status = 3)";
      db.prepare(
        `UPDATE events SET payload = NULL WHERE id > ? AND id < ? AND payload IS NOT NULL AND ${notDead}`,
      ).run(from, payloadsBelow);
      setMeta.run("pruned_upto", String(Math.max(from, payloadsBelow - 1)));
      // The newest event is kept, so that keys keep growing (SQLite reuses the largest key once deleted),
      // which watermarks rely on. So is every event the history still has attempts of (an attempt retried
      // an hour after its event came outlives the event by that hour): a search by event id finds its
      // attempts through the event's key (sqlite-history.ts).
      const attempted = db
        .prepare<[], { key: number | null }>("SELECT min(event_key) AS key FROM attempts")
        .get()?.key;
      db.prepare(`DELETE FROM events WHERE received_at < ? AND id < ? AND ${notDead}`).run(
        now - Math.max(dedupeWindowMs, keepPayloadsMs),
        Math.min(lowest, newest, attempted ?? newest),
      );
      db.prepare("DELETE FROM cache WHERE expires_at <= ?").run(now);
    },
    touch(now) {
      setMeta.run("heartbeat", String(now));
    },
    close() {
      db.close();
    },
  };
}

/** One action's claim of an event in its `claims`: the action's id, and its order key (encoded: no commas). */
function claimOf(action: number, orderKey: string | null): string {
  return orderKey === null ? String(action) : `${action}=${encodeURIComponent(orderKey)}`;
}

function parseClaim(claim: string): { action: number; orderKey: string | null } {
  const at = claim.indexOf("=");
  if (at === -1) return { action: Number(claim), orderKey: null };
  return { action: Number(claim.slice(0, at)), orderKey: decodeURIComponent(claim.slice(at + 1)) };
}

/**
 * Version 6: give the events table its `tenant` column, and make ids unique per tenant (they were unique
 * across the store). SQLite cannot change a table's constraints, so the table is rebuilt, in one
 * transaction, keeping every row's key; its events belong to the tenant `default` (the single `source`).
 */
function migrateEventTenants(db: Database.Database): void {
  const columns = db.prepare<[], { name: string }>("SELECT name FROM pragma_table_info('events')").all();
  if (columns.some((c) => c.name === "tenant")) return;
  const kept = columns.map((c) => c.name).join(", ");
  db.transaction(() => {
    db.exec(`
      CREATE TABLE events_by_tenant (
        id INTEGER PRIMARY KEY,
        tenant TEXT NOT NULL DEFAULT 'default',
        event_id TEXT NOT NULL,
        type TEXT NOT NULL,
        time TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        payload TEXT,
        claims TEXT,
        trace TEXT,
        UNIQUE (tenant, event_id)
      );
      INSERT INTO events_by_tenant (${kept}) SELECT ${kept} FROM events;
      DROP TABLE events;
      ALTER TABLE events_by_tenant RENAME TO events;
      CREATE INDEX IF NOT EXISTS events_received ON events (received_at);
    `);
  })();
}
