// The SQLite store's schema and its migrations: a file is opened, checked and brought to this version here.
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { SchemaTooNewError } from "../schema-version.js";
import { AUDIT_SCHEMA } from "./audit.js";
import { HISTORY_COLUMNS, HISTORY_SCHEMA, minutesTable } from "./history.js";
import { BREAKERS_SCHEMA } from "./states.js";

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
export const SQLITE_SCHEMA_VERSION = 7;

export interface SqliteStoreOptions {
  /** `normal` (default) survives a killed process; `full` also survives a power cut, ~10% slower. */
  synchronous?: "normal" | "full";
}

/** Opens the file in WAL mode and migrates it to SQLITE_SCHEMA_VERSION; a newer store is refused. */
export function openSqliteDatabase(file: string, options: SqliteStoreOptions = {}): Database.Database {
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
  // Below a heavy load the store's thread checkpoints first, between requests (worker.ts).
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
  // Version 2 adds the delivery history's tables (history.ts).
  db.exec(HISTORY_SCHEMA);
  // Version 7: the rollup is kept per tenant.
  migrateMinuteTenants(db);
  // Version 4 adds the audit log (audit.ts).
  db.exec(AUDIT_SCHEMA);
  // Version 5 adds the breakers' states (states.ts).
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
  return db;
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

/**
 * Version 7: key the per-minute rollup by tenant too (history.ts, MinuteBucket). SQLite cannot change
 * a primary key, so the table is rebuilt, in one transaction; its rows were written before the rollup had
 * tenants and become the tenant `default`'s, and columns it lacked (`stale` before version 3, the histogram
 * before version 4) start at 0. A new version, not a column added quietly: an older switchyard's
 * `ON CONFLICT(minute, action)` names a key the table no longer has, and would fail every batch it records.
 */
function migrateMinuteTenants(db: Database.Database): void {
  const columns = db
    .prepare<[], { name: string }>("SELECT name FROM pragma_table_info('attempt_minutes')")
    .all();
  if (columns.some((c) => c.name === "tenant")) return;
  const kept = columns.map((c) => c.name).join(", ");
  db.transaction(() => {
    db.exec(`
      ${minutesTable("attempt_minutes_by_tenant")}
      INSERT INTO attempt_minutes_by_tenant (${kept}) SELECT ${kept} FROM attempt_minutes;
      DROP TABLE attempt_minutes;
      ALTER TABLE attempt_minutes_by_tenant RENAME TO attempt_minutes;
    `);
  })();
}
