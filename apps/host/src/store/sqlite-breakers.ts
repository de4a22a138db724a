// The breakers' states on SQLite (the BreakerStore part of the contract; see types.ts).
import type Database from "better-sqlite3";
import type { BreakerRecord, BreakerStore } from "./types.js";

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

/** The breaker contract, answered synchronously (as SqliteStore answers the rest). */
export type SqliteBreakers = {
  [K in keyof BreakerStore]: BreakerStore[K] extends (...args: infer A) => Promise<infer R>
    ? (...args: A) => R
    : never;
};

export function sqliteBreakers(db: Database.Database): SqliteBreakers {
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
