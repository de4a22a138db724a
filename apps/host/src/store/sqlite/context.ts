// What every facet of the SQLite store shares: the open database, the action ids and the `meta` table.
import type Database from "better-sqlite3";

/** A delivery row's status: pending, in flight, dead (delivered rows are deleted). */
export const PENDING = 0;
export const IN_FLIGHT = 1;
export const DEAD = 3;

/** How the facets reach the store's `actions` table (names are stored as its integer ids). */
export interface ActionIds {
  /** The id of an action, added if new. */
  id(name: string): number;
  /** The id of an action the store knows, else undefined. */
  find(name: string): number | undefined;
  name(id: number): string;
}

/** The store's small key-value table (cursors, the prune mark, the heartbeat). */
export interface Meta {
  get(key: string): string | undefined;
  set(key: string, value: string): void;
}

/** What each facet receives from `openSqliteStore`, in place of closures over one long function. */
export interface SqliteContext {
  db: Database.Database;
  actions: ActionIds;
  meta: Meta;
  /**
   * `db.transaction(fn)`, and the action ids it added are cached only once it commits: a failed one (a full
   * disk) rolled their rows back, and a cached id then named no action, or later a second one.
   */
  transaction<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R;
}

/** The context of an opened, migrated database; action ids and names are cached once read. */
export function sqliteContext(db: Database.Database): SqliteContext {
  const actionIds = new Map<string, number>();
  const actionNames = new Map<number, string>();
  // Ids added inside a transaction that has not committed yet.
  const added = new Map<string, number>();
  const selectAction = db.prepare<[string], { id: number }>("SELECT id FROM actions WHERE name = ?");
  const insertAction = db.prepare<[string]>("INSERT OR IGNORE INTO actions (name) VALUES (?)");
  const cache = (name: string, id: number) => {
    actionIds.set(name, id);
    actionNames.set(id, name);
  };
  const actionId = (name: string): number => {
    let id = actionIds.get(name) ?? added.get(name);
    if (id === undefined) {
      insertAction.run(name);
      id = selectAction.get(name)!.id;
      if (db.inTransaction) added.set(name, id);
      else cache(name, id);
    }
    return id;
  };
  const transaction = <A extends unknown[], R>(fn: (...args: A) => R) => {
    const run = db.transaction(fn);
    return (...args: A): R => {
      try {
        const result = run(...args);
        if (!db.inTransaction) for (const [name, id] of added) cache(name, id);
        return result;
      } finally {
        if (!db.inTransaction) added.clear();
      }
    };
  };
  const knownAction = (name: string): number | undefined => {
    const id = actionIds.get(name) ?? added.get(name);
    if (id !== undefined) return id;
    // Found and not added by the open transaction: committed.
    const found = selectAction.get(name)?.id;
    if (found !== undefined) cache(name, found);
    return found;
  };
  const actionName = (id: number): string => {
    let name = actionNames.get(id);
    if (name === undefined) {
      const found = db.prepare<[number], { name: string }>("SELECT name FROM actions WHERE id = ?").get(id);
      name = found?.name ?? `#${id}`;
      if (found && !db.inTransaction) actionNames.set(id, name);
    }
    return name;
  };

  const getMeta = db.prepare<[string], { value: string }>("SELECT value FROM meta WHERE key = ?");
  const setMeta = db.prepare<[string, string]>(
    "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
  );
  return {
    db,
    transaction,
    actions: { id: actionId, find: knownAction, name: actionName },
    meta: {
      get: (key) => getMeta.get(key)?.value,
      set: (key, value) => {
        setMeta.run(key, value);
      },
    },
  };
}

/** A part of the store contract, answered synchronously: SQLite's calls block (the host runs them on a thread). */
export type Synchronous<T> = {
  [K in keyof T]-?: T[K] extends (...args: infer A) => Promise<infer R> ? (...args: A) => R : never;
};
