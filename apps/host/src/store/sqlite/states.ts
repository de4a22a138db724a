// The SQLite store's per-action states: paused or not, the actions' caches, the latest-wins marks and the
// breakers (the BreakerStore part of the contract; see types.ts).
import type { CacheRecord } from "@switchyard/core";
import type Database from "better-sqlite3";
import { actionStateOf, actionStateRow } from "../action-state.js";
import type { ActionState, BreakerRecord, BreakerStore, StateStore } from "../types.js";
import type { SqliteContext, Synchronous } from "./context.js";

/** Schema version 5: each breaker that is not closed, per action and replica (a version 4 store gains it). */
export const BREAKERS_SCHEMA = `
CREATE TABLE IF NOT EXISTS breakers (
  action TEXT NOT NULL,
  replica TEXT NOT NULL,
  state TEXT NOT NULL,                  -- open, half-open
  since INTEGER NOT NULL,
  until INTEGER,
  PRIMARY KEY (action, replica)
) WITHOUT ROWID;
`;

/**
 * How long a silent host's breakers are believed. The host touches the store every 2 s (its heartbeat in
 * `meta`); one that neither touched it nor recorded a breaker for this long has stopped (a SIGKILL leaves
 * its records behind), and a breaker it left open is no longer holding anything back.
 */
const LIVE_MS = 15_000;

export type SqliteStates = Synchronous<
  Pick<
    StateStore,
    "actionStates" | "setActionState" | "loadCache" | "saveCache" | "removeCache" | "latestDelivered"
  > &
    BreakerStore
>;

export function sqliteStates({ db, actions }: SqliteContext): SqliteStates {
  const selectLatest = db.prepare<[number, string], { time: number; event: number }>(
    "SELECT time, event FROM latest WHERE action = ? AND subject = ?",
  );
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
    ...sqliteBreakers(db),
    latestDelivered(action, subject) {
      const id = actions.find(action);
      const row = id === undefined ? undefined : selectLatest.get(id, subject);
      return row ? { time: row.time, key: row.event } : undefined;
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
    loadCache(action) {
      return loadCache
        .all(actions.id(action), Date.now())
        .map((row) => [row.key, { value: row.value, expires_at: row.expires_at } satisfies CacheRecord]);
    },
    saveCache(action, key, record) {
      saveCache.run(actions.id(action), key, record.value, record.expires_at);
    },
    removeCache(action, key) {
      removeCache.run(actions.id(action), key);
    },
  };
}

function sqliteBreakers(db: Database.Database): Synchronous<BreakerStore> {
  const upsert = db.prepare<[string, string, string, number, number | null]>(
    `INSERT INTO breakers (action, replica, state, since, until) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT(action, replica) DO UPDATE SET state = excluded.state, since = excluded.since, until = excluded.until`,
  );
  const remove = db.prepare<[string, string]>("DELETE FROM breakers WHERE action = ? AND replica = ?");
  const select = db.prepare<
    [number],
    { action: string; replica: string; state: BreakerRecord["state"]; since: number; until: number | null }
  >(
    `SELECT action, replica, state, since, until FROM breakers
     WHERE max(since, coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'heartbeat'), 0)) > ?
     ORDER BY action, replica`,
  );
  return {
    setBreaker(record) {
      if (record.state === "closed") remove.run(record.action, record.replica);
      else upsert.run(record.action, record.replica, record.state, record.since, record.until ?? null);
    },
    breakers() {
      return select
        .all(Date.now() - LIVE_MS)
        .map(({ until, ...row }) => (until !== null ? { ...row, until } : row));
    },
    resetBreakers() {
      // One host per folder: whoever recorded the others is not running.
      db.prepare("DELETE FROM breakers").run();
    },
  };
}
