// The delivery history on SQLite (the HistoryStore part of the contract; see ../types.ts and ../history.ts).
import { DEFAULT_TENANT } from "../../tenants.js";
import {
  eventsWithIdSql,
  LATENCY_COLUMNS,
  logsColumn,
  logsField,
  MINUTE_MS,
  minuteBuckets,
  NARROW_RANGE,
  OUTCOMES,
  outcomeCondition,
  PRUNE_CHUNK,
  pageSize,
  tenantColumn,
  tenantCondition,
  tenantOf,
  typeRange,
} from "../history.js";
import type {
  AttemptQuery,
  AttemptRecord,
  DeliveryState,
  EventRecord,
  HistoryStore,
  StoredAttempt,
} from "../types.js";
import type { SqliteContext } from "./context.js";

/**
 * The per-minute rollup's table, created under `name`: schema version 7 keys it by tenant too (history.ts,
 * MinuteBucket), and an older store's table is rebuilt into this shape (schema.ts).
 */
export const minutesTable = (name: string) => `
CREATE TABLE IF NOT EXISTS ${name} (
  minute INTEGER NOT NULL,
  action INTEGER NOT NULL,
  tenant TEXT NOT NULL DEFAULT 'default',  -- history.ts, MinuteBucket
  delivered INTEGER NOT NULL,
  retrying INTEGER NOT NULL,
  dead INTEGER NOT NULL,
  duration_ms INTEGER NOT NULL,
  stale INTEGER NOT NULL DEFAULT 0,
  ${LATENCY_COLUMNS.map((c) => `${c} INTEGER NOT NULL DEFAULT 0,`).join("\n  ")}
  PRIMARY KEY (minute, action, tenant)
) WITHOUT ROWID;
`;

/**
 * Schema version 2: the attempts and their per-minute rollup (a version 1 store gains them on open). Version 3
 * adds `logs` (a version 2 store gains it through HISTORY_COLUMNS) and the rollup's `stale`; tenants added the
 * attempts' `tenant` (through HISTORY_COLUMNS too), and version 7 the rollup's (minutesTable).
 */
export const HISTORY_SCHEMA = `
CREATE TABLE IF NOT EXISTS attempts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused, even once every row is pruned: ids are page cursors
  action INTEGER NOT NULL,               -- actions.id
  event_id TEXT NOT NULL,
  event_key INTEGER,                     -- events.id, when recorded with it (AttemptRecord.eventKey)
  type TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  started_at INTEGER NOT NULL,
  duration_ms INTEGER NOT NULL,
  outcome INTEGER NOT NULL,              -- 0 delivered, 1 retrying, 2 dead, 3 stale (history.ts)
  status INTEGER,
  error TEXT,
  replica TEXT NOT NULL,
  logs TEXT,                             -- the lines the action printed: a JSON array of AttemptLogLine
  tenant TEXT                            -- the event's tenant; NULL is the tenant default (history.ts)
);
-- By event key, not id: keys grow, so this index is appended to, where random ids dirtied a page of it per
-- attempt (store CPU per attempt in the host's batches: 10.1 -> 5.7 µs, measured). Attempts recorded without
-- a key are found by their id through the second, partial index (empty when the host records them).
CREATE INDEX IF NOT EXISTS attempts_event ON attempts (event_key);
CREATE INDEX IF NOT EXISTS attempts_event_id ON attempts (event_id) WHERE event_key IS NULL;
-- One column each for type and action, and the combinations on failures only (a few percent of attempts). An
-- index gains an insertion point per distinct key, and each commit writes every page it touched: with
-- (type, action, outcome) and (action, outcome, type), ~225 of each per batch. Store CPU per attempt with
-- 25 types, 3 actions and 5% failures: 7.7 -> 4.8 µs (measured). A search on the newest rows never needs
-- them (see PROBE); an older or rarer match is found through the most selective one.
CREATE INDEX IF NOT EXISTS attempts_type ON attempts (type);
CREATE INDEX IF NOT EXISTS attempts_action ON attempts (action);
CREATE INDEX IF NOT EXISTS attempts_failed ON attempts (action, outcome, type) WHERE outcome > 0;
CREATE INDEX IF NOT EXISTS attempts_started ON attempts (started_at);
${minutesTable("attempt_minutes")}`;

/**
 * Columns added to the attempts since version 2, for stores that had the table before: version 3 `logs`.
 * Tenants add the attempts' `tenant` without a new version: older code names the columns it writes and
 * reads, and its attempts (NULL) read as the tenant `default`. It has no index: attempts are found by the
 * other filters, and the tenant narrows them (an index costs every attempt's write, the history's measured
 * cost). The rollup's later columns (version 3 `stale`, version 4 the duration histogram) come with its
 * rebuild in version 7 (schema.ts).
 */
export const HISTORY_COLUMNS: ReadonlyArray<{ table: string; column: string; declaration: string }> = [
  { table: "attempts", column: "logs", declaration: "TEXT" },
  { table: "attempts", column: "tenant", declaration: "TEXT" },
];

/** The history contract, answered synchronously (as SqliteStore answers the rest). */
export type SqliteHistory = {
  [K in keyof HistoryStore]: HistoryStore[K] extends (...args: infer A) => Promise<infer R>
    ? (...args: A) => R
    : never;
};

interface AttemptRow {
  id: number;
  action: number;
  event_id: string;
  type: string;
  attempt: number;
  started_at: number;
  duration_ms: number;
  outcome: number;
  status: number | null;
  error: string | null;
  replica: string;
  logs: string | null;
  tenant: string | null;
}

const STATES = { 0: "pending", 1: "in flight", 3: "dead" } as const;

/** How many of the newest rows a search reads before it asks the planner (see searchAttempts). */
const PROBE = 5_000;

export function sqliteHistory({ db, actions, transaction }: SqliteContext): SqliteHistory {
  const insertAttempt = db.prepare<
    [
      number,
      string,
      number | null,
      string,
      number,
      number,
      number,
      number,
      number | null,
      string | null,
      string,
      string | null,
      string | null,
    ]
  >(
    `INSERT INTO attempts (action, event_id, event_key, type, attempt, started_at, duration_ms, outcome, status, error, replica, logs, tenant)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const histogram = LATENCY_COLUMNS.join(", ");
  const addToMinute = db.prepare<Array<number | string>>(
    `INSERT INTO attempt_minutes (minute, action, tenant, delivered, retrying, dead, stale, duration_ms, ${histogram})
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ${LATENCY_COLUMNS.map(() => "?").join(", ")})
     ON CONFLICT(minute, action, tenant) DO UPDATE SET delivered = delivered + excluded.delivered,
       retrying = retrying + excluded.retrying, dead = dead + excluded.dead, stale = stale + excluded.stale,
       duration_ms = duration_ms + excluded.duration_ms,
       ${LATENCY_COLUMNS.map((c) => `${c} = ${c} + excluded.${c}`).join(", ")}`,
  );
  // Without a tenant, every tenant's rows summed; with one, only its rows (the tenant ends the key: the
  // minute range is read either way, and the tenant filters it).
  const latencyOf = (where: string) =>
    db.prepare<Array<number | string>, Record<string, number>>(
      `SELECT action, ${LATENCY_COLUMNS.map((c) => `sum(${c}) AS ${c}`).join(", ")}
       FROM attempt_minutes WHERE ${where} GROUP BY action`,
    );
  const selectLatency = latencyOf("minute >= ?");
  const selectTenantLatency = latencyOf("minute >= ? AND tenant = ?");
  const record = transaction((records: readonly AttemptRecord[]) => {
    for (const r of records) {
      insertAttempt.run(
        actions.id(r.action),
        r.eventId,
        r.eventKey ?? null,
        r.eventType,
        r.attempt,
        r.startedAt,
        Math.round(r.durationMs),
        OUTCOMES.indexOf(r.outcome),
        r.status ?? null,
        r.error ?? null,
        r.replica,
        logsColumn(r.logs),
        tenantColumn(r.tenant),
      );
    }
    for (const b of minuteBuckets(records)) {
      addToMinute.run(
        b.minute,
        actions.id(b.action),
        b.tenant,
        b.delivered,
        b.retrying,
        b.dead,
        b.stale,
        b.durationMs,
        ...b.latency,
      );
    }
  });

  // One bucket per minute and action: the key's order, so the sums need no sort.
  const minutesOf = (where: string) =>
    db.prepare<
      Array<number | string>,
      {
        minute: number;
        action: number;
        delivered: number;
        retrying: number;
        dead: number;
        stale: number;
        duration_ms: number;
      }
    >(
      `SELECT minute, action, sum(delivered) AS delivered, sum(retrying) AS retrying, sum(dead) AS dead,
         sum(stale) AS stale, sum(duration_ms) AS duration_ms
       FROM attempt_minutes WHERE ${where} GROUP BY minute, action ORDER BY minute`,
    );
  const selectMinutes = minutesOf("minute >= ?");
  const selectTenantMinutes = minutesOf("minute >= ? AND tenant = ?");
  // An event id names one event per tenant: with its tenant, one lookup of the (tenant, event_id) index.
  const selectEventKeys = db.prepare<[string], { id: number; tenant: string }>(eventsWithIdSql("?"));
  const selectEvent = db.prepare<
    [string, string],
    { id: number; type: string; time: string; received_at: number; payload: string | null }
  >("SELECT id, type, time, received_at, payload FROM events WHERE tenant = ? AND event_id = ?");
  // Deliveries are keyed (action, event): one primary-key lookup per action.
  const selectDeliveries = db.prepare<
    [number],
    { action: number; status: 0 | 1 | 3; attempts: number; due_at: number; last_error: string | null }
  >(
    `SELECT d.action, d.status, d.attempts, d.due_at, d.last_error
     FROM actions a JOIN deliveries d ON d.action = a.id AND d.event = ?`,
  );
  const countRange = (range: string) =>
    db.prepare<number[], { n: number }>(
      `SELECT count(*) AS n FROM (SELECT 1 FROM attempts WHERE ${range} LIMIT ${NARROW_RANGE})`,
    );
  const maxId = db.prepare<[], { id: number | null }>("SELECT max(id) AS id FROM attempts");
  const pruneChunk = db.prepare<[number]>(
    `DELETE FROM attempts WHERE id IN (SELECT id FROM attempts WHERE started_at < ? LIMIT ${PRUNE_CHUNK})`,
  );
  const pruneMinutes = db.prepare<[number]>("DELETE FROM attempt_minutes WHERE minute < ?");

  return {
    recordAttempts(records) {
      if (records.length > 0) record(records);
    },

    searchAttempts(query: AttemptQuery) {
      const clauses: string[] = [];
      const params: Array<string | number> = [];
      if (query.action !== undefined) {
        const id = actions.find(query.action);
        if (id === undefined) return [];
        clauses.push("action = ?");
        params.push(id);
      }
      const tenant = (bound: string[]) =>
        tenantCondition(query.tenant!, (value) => {
          bound.push(value);
          return "?";
        });
      if (query.eventId !== undefined) {
        // Its attempts recorded with the event's key (of the tenant's event, or every tenant's), and any
        // recorded without one. A key names its tenant's event: attempts found by it need no tenant check.
        const keys = selectEventKeys
          .all(query.eventId)
          .filter((e) => query.tenant === undefined || e.tenant === query.tenant)
          .map((e) => e.id);
        const unkeyed: string[] = [query.eventId];
        const byId = `event_key IS NULL AND event_id = ?${query.tenant !== undefined ? ` AND ${tenant(unkeyed)}` : ""}`;
        if (keys.length === 0) clauses.push(byId);
        else {
          clauses.push(`(event_key IN (${keys.map(() => "?").join(", ")}) OR (${byId}))`);
          params.push(...keys);
        }
        params.push(...unkeyed);
      } else if (query.tenant !== undefined) {
        const bound: string[] = [];
        clauses.push(tenant(bound));
        params.push(...bound);
      }
      const type = typeRange(query.type);
      if (type && "exact" in type) {
        clauses.push("type = ?");
        params.push(type.exact);
      } else if (type) {
        clauses.push("type >= ? AND type < ?");
        params.push(type.from, type.to);
      }
      const outcome = outcomeCondition(query.outcome);
      if (outcome) clauses.push(outcome);
      // SQLite uses a partial index only for a query that repeats its condition: `outcome = 2` alone would
      // not reach attempts_failed.
      if (query.outcome !== undefined && query.outcome !== "failed" && query.outcome !== "delivered")
        clauses.push("outcome > 0");
      if (query.since !== undefined) {
        clauses.push("started_at >= ?");
        params.push(query.since);
      }
      if (query.until !== undefined) {
        clauses.push("started_at < ?");
        params.push(query.until);
      }
      const limit = pageSize(query.limit);
      const columns =
        "id, action, event_id, type, attempt, started_at, duration_ms, outcome, status, error, replica, logs, tenant";
      const select = (sql: string, values: Array<string | number>) =>
        db.prepare<Array<string | number>, AttemptRow>(sql).all(...values);
      // SQLite's planner does not count on a LIMIT ending a scan early: for a filter that most rows match
      // (one action of four) it prefers an index and a sort of every match (15-40 ms) to reading the newest
      // rows (under 1 ms). So the newest PROBE rows below the cursor are read first, without an index; if
      // they hold a page, it is the page. Otherwise the matches are few, and the planner's choice of index
      // (with its statistics, see pruneHistory) finds the rest. An event id needs no probe: its index is
      // ordered by id.
      const top = query.before ?? (maxId.get()?.id ?? 0) + 1;
      let rows: AttemptRow[] = [];
      let below = top;
      if (query.eventId === undefined) {
        below = Math.max(0, top - PROBE);
        rows = select(
          `SELECT ${columns} FROM attempts NOT INDEXED WHERE ${[...clauses, "id >= ?", "id < ?"].join(" AND ")}
           ORDER BY id DESC LIMIT ${limit}`,
          [...params, below, top],
        );
      }
      // The ids first, then their rows: sorting a time range's matches reads only its index, not each row
      // (an hour's ~6,000 attempts: p50 4.8 -> 1.9 ms, measured).
      if (rows.length < limit && below > 0) {
        // A narrow time range (see NARROW_RANGE) through its index: SQLite's estimate from its few samples
        // sometimes took an hour for a wide range and walked the ids (80-270 ms, measured).
        let index = "";
        if (query.eventId === undefined && (query.since !== undefined || query.until !== undefined)) {
          const range = clauses.filter((c) => c.startsWith("started_at")).join(" AND ");
          const times = [query.since, query.until].filter((t) => t !== undefined);
          const { n } = countRange(range).get(...times)!;
          if (n < NARROW_RANGE) index = "INDEXED BY attempts_started";
        }
        const ids = `SELECT id FROM attempts ${index} WHERE ${[...clauses, "id < ?"].join(" AND ")} ORDER BY id DESC LIMIT ${limit - rows.length}`;
        rows.push(
          ...select(`SELECT ${columns} FROM attempts WHERE id IN (${ids}) ORDER BY id DESC`, [
            ...params,
            below,
          ]),
        );
      }
      return rows.map(
        (row): StoredAttempt => ({
          id: row.id,
          action: actions.name(row.action),
          tenant: tenantOf(row.tenant),
          eventId: row.event_id,
          eventType: row.type,
          attempt: row.attempt,
          startedAt: row.started_at,
          durationMs: row.duration_ms,
          outcome: OUTCOMES[row.outcome]!,
          ...(row.status !== null ? { status: row.status } : {}),
          ...(row.error !== null ? { error: row.error } : {}),
          replica: row.replica,
          ...logsField(row.logs),
        }),
      );
    },

    activity(since, tenant) {
      return (tenant === undefined ? selectMinutes.all(since) : selectTenantMinutes.all(since, tenant))
        .map((row) => ({
          action: actions.name(row.action),
          minute: row.minute,
          delivered: row.delivered,
          retrying: row.retrying,
          dead: row.dead,
          stale: row.stale,
          durationMs: row.duration_ms,
        }))
        .sort((a, b) => a.minute - b.minute || (a.action < b.action ? -1 : a.action > b.action ? 1 : 0));
    },

    latency(since, tenant) {
      const rows = tenant === undefined ? selectLatency.all(since) : selectTenantLatency.all(since, tenant);
      return rows.map((row) => ({
        action: actions.name(row.action!),
        counts: LATENCY_COLUMNS.map((c) => row[c] ?? 0),
      }));
    },

    event(eventId, tenant = DEFAULT_TENANT): EventRecord | undefined {
      const row = selectEvent.get(tenant, eventId);
      if (!row) return undefined;
      // Deliveries the host holds in memory since ingest have no row (deliveries.ts): only retried,
      // dead-lettered, long-running and backlogged ones show here.
      const deliveries = selectDeliveries
        .all(row.id)
        .map(
          (d): DeliveryState => ({
            action: actions.name(d.action),
            state: STATES[d.status],
            attempts: d.attempts,
            ...(d.status === 0 ? { dueAt: d.due_at } : {}),
            ...(d.last_error !== null ? { lastError: d.last_error } : {}),
          }),
        )
        .sort((a, b) => (a.action < b.action ? -1 : a.action > b.action ? 1 : 0));
      return {
        tenant,
        eventId,
        type: row.type,
        time: row.time,
        receivedAt: row.received_at,
        ...(row.payload !== null ? { payload: row.payload } : {}),
        deliveries,
      };
    },

    eventTenants(eventId) {
      return selectEventKeys
        .all(eventId)
        .map((e) => e.tenant)
        .sort();
    },

    pruneHistory(before) {
      // In chunks, each its own transaction: the writer lock is never held for a whole retention's worth.
      let pruned = 0;
      for (;;) {
        const { changes } = pruneChunk.run(before);
        pruned += changes;
        if (changes < PRUNE_CHUNK) break;
      }
      // A bucket goes once its whole minute is before `before`.
      pruneMinutes.run(Math.floor(before / MINUTE_MS) * MINUTE_MS);
      // Keep the planner's statistics current (cheap: it analyses only tables that changed a lot, sampling),
      // so a search picks the index of its most selective filter.
      db.pragma("optimize=0x10002");
      return pruned;
    },
  };
}
