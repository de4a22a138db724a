import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Auth0Event } from "@switchyard/core";
import { createEventFactory } from "@switchyard/testing";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openSqliteStore, type SqliteStore } from "./sqlite/index.js";
import type { IngestEvent } from "./types.js";

const factory = createEventFactory({ seed: 3 });
let dir: string;
let store: SqliteStore;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "switchyard-store-"));
  store = openSqliteStore(join(dir, "state", "switchyard.db"));
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

const row = (
  event: Auth0Event,
  actions: string[],
  held = false,
  orderKey: string | null = null,
): IngestEvent => ({
  event,
  payload: JSON.stringify(event),
  deliveries: actions.map((action) => ({ action, orderKey, held })),
});

/** Inserts into `table` matching `when` fail as on a full disk (a trigger, from another connection). */
function failInserts(table: string, when: string): void {
  sql(`CREATE TRIGGER full BEFORE INSERT ON ${table} WHEN ${when}
       BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`);
}

function sql(statement: string): void {
  const db = new Database(join(dir, "state", "switchyard.db"));
  db.exec(statement);
  db.close();
}

describe("sqlite store", () => {
  it("writes events, deliveries and the cursor together, and drops duplicate ids", () => {
    const a = factory.byType["user.created"]();
    const b = factory.byType["user.deleted"]();
    const first = store.ingest([row(a, ["x", "y"]), row(b, ["x"])], "c-2");
    expect(first.keys.map((k) => k !== undefined)).toEqual([true, true]);
    expect(store.getCursor()).toBe("c-2");
    const again = store.ingest([row(a, ["x", "y"])], "c-3");
    expect(again.keys.map((k) => k !== undefined)).toEqual([false]);
    expect(store.getCursor()).toBe("c-3");
    expect(store.stats().pending).toEqual({ x: 2, y: 1 });
    expect(store.countUnfinished()).toBe(3);
  });

  // The host never offers this (one key's events in a batch are all held or all not), but the ingest skips
  // the per-key question for an action with no pending keyed row, so it must notice the rows it writes itself.
  it("declines a held delivery behind a row of its key written earlier in the same batch", () => {
    const [y1, x1, x2, y2] = factory.many(4);
    // y1 asks first, while the action has no pending keyed row; x1 then writes one.
    const result = store.ingest(
      [
        row(y1!, ["o"], true, "y"),
        row(x1!, ["o"], false, "x"),
        row(x2!, ["o"], true, "x"),
        row(y2!, ["o"], true, "y"),
      ],
      undefined,
    );
    expect(result.declined).toEqual([[2, "o"]]);
    // And in the next batch, from the stored row.
    const [x3] = factory.many(1);
    expect(store.ingest([row(x3!, ["o"], true, "x")], undefined).declined).toEqual([[0, "o"]]);
  });

  it("believes the host's breakers while it touches the store or records one, and forgets them at its start", () => {
    const now = Date.now();
    store.setBreaker({ action: "x", replica: "h", state: "open", since: now, until: now + 60_000 });
    // A record is its own sign of life, before the host's first heartbeat.
    expect(store.breakers()).toEqual([
      { action: "x", replica: "h", state: "open", since: now, until: now + 60_000 },
    ]);
    // A host SIGKILLed 20 s ago: its last heartbeat and its record are older than 15 s.
    store.setBreaker({ action: "x", replica: "h", state: "open", since: now - 20_000, until: now + 60_000 });
    store.touch(now - 20_000);
    expect(store.breakers()).toEqual([]);
    // While it touches the store, its breaker is believed however old.
    store.touch(now);
    expect(store.breakers()).toHaveLength(1);
    store.resetBreakers("another-host");
    expect(store.breakers()).toEqual([]);
  });

  it("claims due deliveries once, and completes them", () => {
    const events = factory.many(5);
    store.ingest(
      events.map((e) => row(e, ["x"])),
      undefined,
    );
    const claimed = store.claim("x", 3, Date.now(), false);
    expect(claimed.map((c) => JSON.parse(c.payload).id)).toEqual(events.slice(0, 3).map((e) => e.id));
    expect(store.claim("x", 10, Date.now(), false)).toHaveLength(2);
    expect(store.claim("x", 10, Date.now(), false)).toHaveLength(0);
    store.complete(claimed.map((c) => ({ key: c.key, action: "x", result: "delivered" as const })));
    expect(store.countUnfinished()).toBe(2);
  });

  it("schedules retries and keeps dead letters until replayed", () => {
    const [event] = factory.many(1);
    store.ingest([row(event!, ["x"])], undefined);
    const [claimed] = store.claim("x", 1, Date.now(), false);
    const later = Date.now() + 60_000;
    store.complete([
      { key: claimed!.key, action: "x", result: "retry", attempts: 1, dueAt: later, error: "503" },
    ]);
    expect(store.claim("x", 1, Date.now(), false)).toHaveLength(0);
    const [retry] = store.claim("x", 1, later, false);
    expect(retry?.attempts).toBe(1);
    store.complete([
      { key: retry!.key, action: "x", result: "dead", attempts: 2, error: "PermanentError: 400" },
    ]);
    expect(store.listDead()).toEqual([
      expect.objectContaining({
        action: "x",
        eventId: event!.id,
        eventType: event!.type,
        attempts: 2,
        lastError: "PermanentError: 400",
      }),
    ]);
    expect(store.stats().dead).toEqual({ x: 1 });
    expect(store.replayDead({ action: "y" }, Date.now())).toBe(0);
    expect(store.replayDead({ eventId: event!.id }, Date.now())).toBe(1);
    expect(store.listDead()).toEqual([]);
    expect(store.claim("x", 1, Date.now(), false)[0]?.attempts).toBe(0);
  });

  it("writes no row for held deliveries, and recovers those a killed process left unfinished", () => {
    const events = factory.many(2);
    store.ingest(
      events.map((e) => row(e, ["x"], true)),
      undefined,
    );
    expect(store.countUnfinished()).toBe(0);
    expect(store.claim("x", 10, Date.now(), false)).toHaveLength(0);
    expect(store.recover()).toBe(2);
    expect(store.claim("x", 10, Date.now(), false).map((c) => JSON.parse(c.payload).id)).toEqual(
      events.map((e) => e.id),
    );
    // Claimed again (in flight) and killed again: recovered again.
    expect(store.recover()).toBe(2);
  });

  it("recovers only the claims above each action's watermark; retries, dead letters and long runs get rows", () => {
    const events = factory.many(5);
    const { keys } = store.ingest(
      events.map((e, i) => row(e, i === 4 ? ["x", "y"] : ["x"], true)),
      undefined,
    );
    const [k1, k2, k3, k4, k5] = keys as number[];
    store.complete(
      [
        { key: k1!, action: "x", result: "delivered", rowless: true },
        { key: k2!, action: "x", result: "retry", attempts: 1, dueAt: Date.now() + 60_000, error: "503" },
        { key: k3!, action: "x", result: "dead", attempts: 1, error: "410" },
        { key: k4!, action: "x", result: "running", attempts: 0 },
      ],
      [{ action: "x", upto: k4! }],
    );
    expect(store.stats()).toEqual({ pending: { x: 2 }, dead: { x: 1 } });
    // x: k2 (retry) and k4 (running) have rows, k5 is above the watermark; y never moved its watermark.
    expect(store.recover()).toBe(3);
    const due = (action: string) => store.claim(action, 10, Date.now(), false).map((c) => c.key);
    expect(due("x")).toEqual([k4, k5]);
    expect(due("y")).toEqual([k5]);
    expect(store.listDead().map((d) => d.eventId)).toEqual([events[2]!.id]);
    // Recovery gave every claim a row: the watermarks start again at this run's claims.
    store.complete(
      [k4!, k5!].map((key) => ({ key, action: "x", result: "delivered" as const })),
      [{ action: "x", upto: k5! }],
    );
    expect(store.recover()).toBe(1); // y's delivery, claimed above and left in flight
  });

  // The webhook source answers 503 to an ingest that fails and the host goes on: a watermark started in the
  // failed transaction was rolled back with it, and the next ingest's claims must start it again.
  it("starts a watermark again after the ingest that started it failed, so its claims are recovered", () => {
    const [a, boom, b] = factory.many(3);
    failInserts("events", `NEW.event_id = '${boom!.id}'`);
    expect(() => store.ingest([row(a!, ["x"], true), row(boom!, ["x"], true)], "c-1")).toThrow(
      /disk is full/,
    );
    expect(store.getCursor()).toBeUndefined();
    store.ingest([row(b!, ["x"], true)], "c-2");
    store.close();
    // Killed before b's delivery finished: it gets a row.
    store = openSqliteStore(join(dir, "state", "switchyard.db"));
    expect(store.recover()).toBe(1);
    expect(store.claim("x", 10, Date.now(), false).map((c) => JSON.parse(c.payload).id)).toEqual([b!.id]);
  });

  it("gives a new action its own id after the ingest that added it failed", () => {
    const [boom, a, b] = factory.many(3);
    failInserts("events", `NEW.event_id = '${boom!.id}'`);
    expect(() => store.ingest([row(boom!, ["x"], true)], undefined)).toThrow(/disk is full/);
    store.ingest([row(a!, ["y"])], undefined);
    store.ingest([row(b!, ["x"])], undefined);
    expect(store.stats().pending).toEqual({ x: 1, y: 1 });
    expect(store.claim("x", 10, Date.now(), false).map((c) => JSON.parse(c.payload).id)).toEqual([b!.id]);
  });

  // A full disk can free up (a checkpoint restarts the WAL) while the host stops after a failed batch.
  it("writes no results after a batch that failed, so no watermark passes its retries", () => {
    const [a, b] = factory.many(2);
    const { keys } = store.ingest([row(a!, ["x"], true), row(b!, ["x"], true)], undefined);
    const [ka, kb] = keys as number[];
    failInserts("deliveries", `NEW.event = ${ka}`);
    const retry = { key: ka!, action: "x", result: "retry", attempts: 1, dueAt: 0, error: "503" } as const;
    expect(() => store.complete([retry], [])).toThrow(/disk is full/);
    expect(() =>
      store.complete(
        [{ key: kb!, action: "x", result: "delivered", rowless: true }],
        [{ action: "x", upto: kb! }],
      ),
    ).toThrow(/earlier batch failed \(database or disk is full\)/);
    store.close();
    sql("DROP TRIGGER full");
    store = openSqliteStore(join(dir, "state", "switchyard.db"));
    // Both are delivered again: a's retry, and b, whose result was not written.
    expect(store.recover()).toBe(2);
  });

  it("recovers held ordered deliveries with their order keys, commas and all", () => {
    const [a, b, c] = factory.many(3);
    store.ingest([row(a!, ["o"], true, "auth0|x,y=z")], undefined);
    store.ingest([row(b!, ["o", "u"], true, "auth0|x,y=z")], undefined);
    store.ingest([row(c!, ["u"], true)], undefined);
    store.close();
    // Killed before anything finished: every held delivery gets a row, keyed as it was held.
    store = openSqliteStore(join(dir, "state", "switchyard.db"));
    expect(store.recover()).toBe(4);
    const db = new Database(join(dir, "state", "switchyard.db"), { readonly: true });
    const keys = db
      .prepare(
        "SELECT a.name, d.order_key FROM deliveries d JOIN actions a ON a.id = d.action ORDER BY d.event, a.name",
      )
      .all();
    db.close();
    expect(keys).toEqual([
      { name: "o", order_key: "auth0|x,y=z" },
      { name: "o", order_key: "auth0|x,y=z" },
      { name: "u", order_key: "auth0|x,y=z" },
      { name: "u", order_key: null },
    ]);
    // So they come in order again, for the runner to queue behind each other.
    const first = store.claim("o", 10, Date.now(), true);
    expect(first.map((d) => JSON.parse(d.payload).id)).toEqual([a!.id, b!.id]);
  });

  it("gives an ordered action a key's due rows in order, none behind a retry not yet due", () => {
    const [a1, b1, a2] = factory.many(3);
    store.ingest(
      [row(a1!, ["o"], false, "alice"), row(b1!, ["o"], false, "bob"), row(a2!, ["o"], false, "alice")],
      undefined,
    );
    const first = store.claim("o", 10, Date.now(), true);
    expect(first.map((c) => JSON.parse(c.payload).id)).toEqual([a1!.id, b1!.id, a2!.id]);
    // Alice's first is retried later and her second goes back behind it: the second waits for the first.
    const later = Date.now() + 60_000;
    store.complete([
      {
        key: first[0]!.key,
        action: "o",
        result: "retry",
        attempts: 1,
        dueAt: later,
        error: "e",
        orderKey: "alice",
      },
      {
        key: first[2]!.key,
        action: "o",
        result: "retry",
        attempts: 0,
        dueAt: Date.now(),
        error: "e",
        orderKey: "alice",
      },
    ]);
    expect(store.claim("o", 10, Date.now(), true)).toHaveLength(0);
    // Dead-lettered, the first no longer holds the second back.
    store.complete([{ key: first[0]!.key, action: "o", result: "dead", attempts: 2, error: "e" }]);
    expect(store.claim("o", 10, Date.now(), true).map((c) => JSON.parse(c.payload).id)).toEqual([a2!.id]);
  });

  it("prunes finished payloads and old event ids, keeping dead letters and the dedupe window", () => {
    const events = factory.many(4);
    store.ingest(
      events.map((e) => row(e, ["x"])),
      undefined,
    );
    const claimed = store.claim("x", 4, Date.now(), false);
    store.complete([
      { key: claimed[0]!.key, action: "x", result: "delivered" },
      { key: claimed[1]!.key, action: "x", result: "dead", attempts: 1, error: "e" },
    ]);
    store.prune(Date.now(), 60_000);
    // Still deduplicated inside the window.
    expect(store.ingest([row(events[0]!, ["x"])], undefined).keys.map((k) => k !== undefined)).toEqual([
      false,
    ]);
    store.prune(Date.now() + 120_000, 60_000);
    expect(store.ingest([row(events[0]!, ["x"])], undefined).keys.map((k) => k !== undefined)).toEqual([
      true,
    ]);
    expect(store.listDead()).toHaveLength(1);
    store.replayDead({}, Date.now());
    expect(store.claim("x", 10, Date.now(), false).length).toBeGreaterThan(0);
  });

  it("keeps payloads that claims above a watermark may need, and keeps event keys growing", () => {
    const events = factory.many(3);
    const { keys } = store.ingest(
      events.map((e) => row(e, ["x"], true)),
      undefined,
    );
    store.complete([], [{ action: "x", upto: keys[0]! }]);
    store.prune(Date.now() + 120_000, 60_000);
    // Events 2 and 3 are above the watermark: kept, payloads and all.
    expect(store.ingest([row(events[0]!, ["x"])], undefined).keys.map((k) => k !== undefined)).toEqual([
      true,
    ]);
    expect(store.ingest([row(events[1]!, ["x"])], undefined).keys.map((k) => k !== undefined)).toEqual([
      false,
    ]);
    expect(store.recover()).toBe(2);
    const due = store.claim("x", 10, Date.now(), false);
    expect(due.map((c) => JSON.parse(c.payload).id).sort()).toEqual(events.map((e) => e.id).sort());
    store.complete(due.map((c) => ({ key: c.key, action: "x", result: "delivered" as const })));
    // All finished and past the window: everything goes but the newest event, so keys never go back.
    store.prune(Date.now() + 120_000, 60_000);
    const newest = Math.max(...due.map((c) => c.key));
    const [next] = store.ingest([row(factory.many(1)[0]!, ["x"])], undefined).keys;
    expect(next).toBe(newest + 1);
  });

  it("keeps the events the history still has attempts of, so a search by event id finds them", () => {
    const events = factory.many(3);
    const { keys } = store.ingest(
      events.map((e) => row(e, ["x"])),
      undefined,
    );
    const due = store.claim("x", 10, Date.now(), false);
    store.complete(due.map((c) => ({ key: c.key, action: "x", result: "delivered" as const })));
    // The second event's attempt started later than its event came (a retry): it outlives the event's row.
    const now = Date.now();
    const hour = 3_600_000;
    store.recordAttempts([
      {
        action: "x",
        eventId: events[1]!.id,
        eventKey: keys[1],
        eventType: events[1]!.type,
        attempt: 2,
        startedAt: now + hour,
        durationMs: 5,
        outcome: "delivered",
        replica: "",
      },
    ]);
    store.prune(now + 2 * hour, 60_000, hour);
    expect(store.event(events[0]!.id)).toBeUndefined();
    expect(store.event(events[1]!.id)?.eventId).toBe(events[1]!.id);
    expect(store.searchAttempts({ eventId: events[1]!.id, limit: 10 })).toHaveLength(1);
    // Once the history lets the attempt go, the event goes too.
    store.pruneHistory(now + 2 * hour);
    store.prune(now + 2 * hour, 60_000, hour);
    expect(store.event(events[1]!.id)).toBeUndefined();
  });

  it("adds the claims column to a store made before it", () => {
    store.close();
    const file = join(dir, "old.db");
    const old = new Database(file);
    old.exec(
      "CREATE TABLE events (id INTEGER PRIMARY KEY, event_id TEXT NOT NULL UNIQUE, type TEXT NOT NULL, time TEXT NOT NULL, received_at INTEGER NOT NULL, payload TEXT)",
    );
    old.close();
    store = openSqliteStore(file);
    const [event] = factory.many(1);
    store.ingest([row(event!, ["x"], true)], undefined);
    expect(store.recover()).toBe(1);
  });

  it("persists action caches", () => {
    store.saveCache("x", "k", { value: "v", expires_at: Date.now() + 60_000 });
    store.saveCache("x", "old", { value: "v", expires_at: Date.now() - 1 });
    expect(store.loadCache("x").map(([k]) => k)).toEqual(["k"]);
    expect(store.loadCache("y")).toEqual([]);
    store.removeCache("x", "k");
    expect(store.loadCache("x")).toEqual([]);
  });

  it("selects dead letters by action, type pattern, time and limit; replays and purges a selection", () => {
    const events = [
      factory.byType["user.created"](),
      factory.byType["user.deleted"](),
      factory.byType["organization.member.role.assigned"](),
    ];
    const { keys } = store.ingest(
      events.map((e) => row(e, ["x", "y"])),
      undefined,
    );
    const dead = (action: string, key: number) =>
      ({ key, action, result: "dead", attempts: 1, error: "boom" }) as const;
    const before = Date.now();
    store.complete(keys.flatMap((key) => [dead("x", key!), dead("y", key!)]));
    expect(store.countDead({})).toBe(6);
    expect(store.countDead({ action: "x", type: "user.*" })).toBe(2);
    expect(store.countDead({ type: "organization.*" })).toBe(2);
    expect(store.countDead({ type: "user.created" })).toBe(2);
    expect(store.countDead({ since: before + 60_000 })).toBe(0);
    expect(store.countDead({ until: before - 1 })).toBe(0);
    expect(store.listDead({ limit: 4 })).toHaveLength(4);
    expect(store.replayDead({ action: "y", type: "user.*" }, Date.now())).toBe(2);
    expect(store.claim("y", 10, Date.now(), false)).toHaveLength(2);
    expect(store.purgeDead({ action: "x", eventId: events[0]!.id })).toBe(1);
    expect(store.countDead({})).toBe(3);
  });

  it("keeps each action's paused state", () => {
    expect(store.actionStates()).toEqual({});
    store.setActionState("x", { paused: true, reason: "operator", since: 5 });
    expect(store.actionStates()).toEqual({ x: { paused: true, reason: "operator", since: 5 } });
    store.setActionState("x", { paused: false });
    expect(store.actionStates()).toEqual({ x: { paused: false } });
  });
});
