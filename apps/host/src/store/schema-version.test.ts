import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LATENCY_COLUMNS } from "./history.js";
import { openStoreThread } from "./sqlite/client.js";
import { openSqliteStore, SQLITE_SCHEMA_VERSION } from "./sqlite/index.js";

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "switchyard-version-"));
  file = join(dir, "switchyard.db");
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** The rollup's table as versions 2 to 6 had it, keyed (minute, action), with `columns` added since version 2. */
const minutesBefore7 = (columns: readonly string[]) => `
  DROP TABLE attempt_minutes;
  CREATE TABLE attempt_minutes (minute INTEGER NOT NULL, action INTEGER NOT NULL, delivered INTEGER NOT NULL,
    retrying INTEGER NOT NULL, dead INTEGER NOT NULL, duration_ms INTEGER NOT NULL,
    ${columns.map((c) => `${c} INTEGER NOT NULL DEFAULT 0,`).join(" ")} PRIMARY KEY (minute, action)) WITHOUT ROWID;`;

describe("sqlite schema version", () => {
  it("stamps a new store and reopens its own version", () => {
    openSqliteStore(file).close();
    const db = new Database(file);
    expect(db.pragma("user_version", { simple: true })).toBe(SQLITE_SCHEMA_VERSION);
    db.close();
    openSqliteStore(file).close();
  });

  it("refuses a store written by a newer switchyard, on this thread and on the store's", async () => {
    openSqliteStore(file).close();
    const db = new Database(file);
    db.pragma(`user_version = ${SQLITE_SCHEMA_VERSION + 1}`);
    db.close();
    const message = `the state in ${file} has schema version ${SQLITE_SCHEMA_VERSION + 1}; this switchyard knows up to ${SQLITE_SCHEMA_VERSION}: upgrade switchyard`;
    expect(() => openSqliteStore(file)).toThrow(message);
    await expect(openStoreThread(file, {})).rejects.toMatchObject({
      code: "SWITCHYARD_SCHEMA_TOO_NEW",
      message: expect.stringContaining(message),
    });
  });
  it("upgrades a version 1 store: it gains the delivery history and keeps its state", async () => {
    const v1 = openSqliteStore(file);
    await v1.ingest(
      [{ event: { id: "evt_1", type: "user.created", time: "t" }, payload: "{}", deliveries: [] }],
      "c-1",
    );
    v1.close();
    const db = new Database(file);
    db.exec("DROP TABLE attempts; DROP TABLE attempt_minutes");
    db.pragma("user_version = 1");
    db.close();
    const store = openSqliteStore(file);
    expect(store.getCursor()).toBe("c-1");
    store.recordAttempts([
      {
        action: "x",
        eventId: "evt_1",
        eventType: "user.created",
        attempt: 1,
        startedAt: 60_000,
        durationMs: 5,
        outcome: "delivered",
        replica: "r",
      },
    ]);
    expect(store.searchAttempts({ limit: 5 })).toHaveLength(1);
    store.close();
    const check = new Database(file);
    expect(check.pragma("user_version", { simple: true })).toBe(SQLITE_SCHEMA_VERSION);
    check.close();
  });

  it("upgrades a version 2 store: latest wins, stale and attempt logs, attempts' tenants, its rows kept", () => {
    const v2 = openSqliteStore(file);
    v2.ingest(
      [{ event: { id: "evt_1", type: "user.created", time: "t" }, payload: "{}", deliveries: [] }],
      "c-1",
    );
    v2.close();
    // Back to version 2's layout, with an attempt and a rollup bucket recorded as version 2 did.
    const db = new Database(file);
    db.exec(`DROP TABLE latest; DROP TABLE audit; ALTER TABLE attempts DROP COLUMN logs; ${minutesBefore7([])}
      ALTER TABLE attempts DROP COLUMN tenant;
      INSERT INTO actions (name) VALUES ('x');
      INSERT INTO attempts (action, event_id, type, attempt, started_at, duration_ms, outcome, replica)
        VALUES (1, 'evt_old', 'user.created', 1, 60000, 5, 0, 'r');
      INSERT INTO attempt_minutes (minute, action, delivered, retrying, dead, duration_ms) VALUES (60000, 1, 1, 0, 0, 5);`);
    db.pragma("user_version = 2");
    db.close();
    const store = openSqliteStore(file);
    expect(store.getCursor()).toBe("c-1");
    store.recordAttempts([
      {
        action: "x",
        eventId: "evt_new",
        eventType: "user.updated",
        attempt: 1,
        startedAt: 60_001,
        durationMs: 0,
        outcome: "stale",
        replica: "r",
        logs: [{ level: "info", message: "hello", at: 60_001 }],
        tenant: "beta",
      },
    ]);
    // Attempts recorded before their tenants were the tenant `default`'s; new ones keep theirs.
    expect(store.searchAttempts({ tenant: "default", limit: 5 })).toMatchObject([{ eventId: "evt_old" }]);
    const [newer, older] = store.searchAttempts({ limit: 5 });
    expect(newer).toMatchObject({
      outcome: "stale",
      logs: [{ level: "info", message: "hello", at: 60_001 }],
    });
    expect(newer).toMatchObject({ tenant: "beta" });
    expect(older).toMatchObject({ eventId: "evt_old", outcome: "delivered", tenant: "default" });
    expect(older).not.toHaveProperty("logs");
    expect(store.activity(60_000)).toEqual([
      { action: "x", minute: 60_000, delivered: 1, retrying: 0, dead: 0, stale: 1, durationMs: 5 },
    ]);
    store.close();
    const check = new Database(file);
    expect(check.pragma("user_version", { simple: true })).toBe(SQLITE_SCHEMA_VERSION);
    expect(check.prepare("SELECT count(*) AS n FROM latest").get()).toEqual({ n: 0 });
    check.close();
  });

  it("upgrades a version 3 store: it gains the audit log and keeps its state", () => {
    const v3 = openSqliteStore(file);
    v3.ingest(
      [{ event: { id: "evt_1", type: "user.created", time: "t" }, payload: "{}", deliveries: [] }],
      "c-3",
    );
    v3.close();
    const db = new Database(file);
    db.exec(
      `DROP TABLE audit; ALTER TABLE deliveries DROP COLUMN attempts_before; ${minutesBefore7(["stale"])}`,
    );
    db.pragma("user_version = 3");
    db.close();
    const store = openSqliteStore(file);
    expect(store.getCursor()).toBe("c-3");
    store.recordAudit({
      at: 5,
      actor: "cli:a@b",
      operation: "pause",
      selection: { action: "x" },
      result: {},
    });
    expect(store.searchAudit({ limit: 5 })).toMatchObject([{ actor: "cli:a@b", operation: "pause" }]);
    expect(store.latency(0)).toEqual([]);
    expect(store.replayDead({}, 1)).toBe(0);
    store.close();
    const check = new Database(file);
    expect(check.pragma("user_version", { simple: true })).toBe(SQLITE_SCHEMA_VERSION);
    check.close();
  });

  it("upgrades a version 4 store: it gains the breakers' states and keeps its state", () => {
    const v4 = openSqliteStore(file);
    v4.setActionState("x", { paused: true, reason: "operator", since: 7 });
    v4.close();
    const db = new Database(file);
    db.exec("DROP TABLE breakers");
    db.pragma("user_version = 4");
    db.close();
    const store = openSqliteStore(file);
    expect(store.actionStates()).toEqual({ x: { paused: true, reason: "operator", since: 7 } });
    const now = Date.now();
    store.setBreaker({ action: "x", replica: "h", state: "open", since: now, until: now + 1 });
    expect(store.breakers()).toEqual([
      { action: "x", replica: "h", state: "open", since: now, until: now + 1 },
    ]);
    store.close();
    const check = new Database(file);
    expect(check.pragma("user_version", { simple: true })).toBe(SQLITE_SCHEMA_VERSION);
    check.close();
  });

  it("upgrades a version 6 store: its rollup is kept per tenant, and its buckets so far are the tenant `default`'s", () => {
    openSqliteStore(file).close();
    const db = new Database(file);
    const histogram = (first: number) => LATENCY_COLUMNS.map((_, i) => (i === 0 ? first : 0));
    db.exec(`${minutesBefore7(["stale", ...LATENCY_COLUMNS])}
      INSERT INTO actions (name) VALUES ('x'), ('y');
      INSERT INTO attempt_minutes (minute, action, delivered, retrying, dead, duration_ms, stale, ${LATENCY_COLUMNS.join(", ")})
        VALUES (60000, 1, 2, 1, 0, 9, 1, ${histogram(3).join(", ")}), (60000, 2, 0, 0, 1, 4, 0, ${histogram(1).join(", ")});`);
    db.pragma("user_version = 6");
    db.close();
    const store = openSqliteStore(file);
    store.recordAttempts([
      {
        action: "x",
        eventId: "evt_prod",
        eventType: "user.created",
        attempt: 1,
        startedAt: 60_001,
        durationMs: 2,
        outcome: "delivered",
        replica: "r",
        tenant: "prod",
      },
    ]);
    const before = [
      { action: "x", minute: 60_000, delivered: 2, retrying: 1, dead: 0, stale: 1, durationMs: 9 },
      { action: "y", minute: 60_000, delivered: 0, retrying: 0, dead: 1, stale: 0, durationMs: 4 },
    ];
    expect(store.activity(60_000, "default")).toEqual(before);
    expect(store.activity(60_000, "prod")).toEqual([
      { action: "x", minute: 60_000, delivered: 1, retrying: 0, dead: 0, stale: 0, durationMs: 2 },
    ]);
    expect(store.activity(60_000)).toEqual([{ ...before[0], delivered: 3, durationMs: 11 }, before[1]]);
    expect(store.latency(60_000, "default")).toEqual([
      { action: "x", counts: histogram(3) },
      { action: "y", counts: histogram(1) },
    ]);
    expect(store.latency(60_000)).toContainEqual({ action: "x", counts: histogram(4) });
    store.close();
    const check = new Database(file);
    expect(check.pragma("user_version", { simple: true })).toBe(SQLITE_SCHEMA_VERSION);
    expect(
      check
        .prepare("SELECT name FROM pragma_table_info('attempt_minutes') WHERE pk > 0 ORDER BY pk")
        .all()
        .map((c) => (c as { name: string }).name),
    ).toEqual(["minute", "action", "tenant"]);
    check.close();
  });

  it("upgrades a version 5 store: its events become the tenant `default`'s, and ids dedupe per tenant", () => {
    const v5 = openSqliteStore(file);
    const row = (id: string) => ({
      event: { id, type: "user.created", time: "2026-12-01T00:00:00.000Z" },
      payload: `{"id":"${id}"}`,
      deliveries: [{ action: "x", orderKey: null, held: false }],
    });
    const [first] = v5.ingest([row("evt_1")], "c-5").keys;
    v5.close();
    // Version 5's events table: ids unique across the store, no tenant.
    const db = new Database(file);
    db.exec(`
      CREATE TABLE events_v5 (id INTEGER PRIMARY KEY, event_id TEXT NOT NULL UNIQUE, type TEXT NOT NULL,
        time TEXT NOT NULL, received_at INTEGER NOT NULL, payload TEXT, claims TEXT, trace TEXT);
      INSERT INTO events_v5 SELECT id, event_id, type, time, received_at, payload, claims, trace FROM events;
      DROP TABLE events;
      ALTER TABLE events_v5 RENAME TO events;`);
    db.pragma("user_version = 5");
    db.close();
    const store = openSqliteStore(file);
    expect(store.getCursor()).toBe("c-5");
    expect(store.getCursor("dev")).toBeUndefined();
    // The same id: a duplicate for the tenant that had it, a new event for another tenant.
    expect(store.ingest([row("evt_1")], undefined).keys).toEqual([undefined]);
    const [dev] = store.ingest([row("evt_1")], "d-1", "dev").keys;
    expect(dev).toBeGreaterThan(first!);
    expect(store.getCursor("dev")).toBe("d-1");
    expect(store.getCursor()).toBe("c-5");
    expect(store.stats().pending).toEqual({ x: 2 });
    store.close();
    const check = new Database(file);
    expect(check.pragma("user_version", { simple: true })).toBe(SQLITE_SCHEMA_VERSION);
    check.close();
  });
});
