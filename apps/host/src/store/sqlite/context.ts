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
  /** `db.transaction(fn)`, after whose commit the notes it took (`onCommit`) are kept; on a rollback, dropped. */
  transaction<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R;
  /**
   * What a facet remembers of a write (a cache, a flag) once the write commits: at once outside a
   * transaction. A failed transaction (a full disk) rolled its rows back, and a note of them kept would lie.
   */
  onCommit(note: () => void): void;
}

/** The context of an opened, migrated database; action ids and names are cached once read. */
export function sqliteContext(db: Database.Database): SqliteContext {
  const notes: Array<() => void> = [];
  const onCommit = (note: () => void) => {
    if (db.inTransaction) notes.push(note);
    else note();
  };
  const transaction = <A extends unknown[], R>(fn: (...args: A) => R) => {
    const run = db.transaction(fn);
    return (...args: A): R => {
      try {
        const result = run(...args);
        if (!db.inTransaction) for (const note of notes) note();
        return result;
      } finally {
        if (!db.inTransaction) notes.length = 0;
      }
    };
  };

  const actionIds = new Map<string, number>();
  const actionNames = new Map<number, string>();
  const selectAction = db.prepare<[string], { id: number }>("SELECT id FROM actions WHERE name = ?");
  const insertAction = db.prepare<[string]>("INSERT OR IGNORE INTO actions (name) VALUES (?)");
  const cache = (name: string, id: number) => () => {
    actionIds.set(name, id);
    actionNames.set(id, name);
  };
  // Inside a transaction an id read may be one it added: cached once it commits, read again until then.
  const actionId = (name: string): number => {
    let id = actionIds.get(name);
    if (id === undefined) {
      insertAction.run(name);
      id = selectAction.get(name)!.id;
      onCommit(cache(name, id));
    }
    return id;
  };
  const knownAction = (name: string): number | undefined => {
    const id = actionIds.get(name) ?? selectAction.get(name)?.id;
    if (id !== undefined && !actionIds.has(name)) onCommit(cache(name, id));
    return id;
  };
  const actionName = (id: number): string => {
    const known = actionNames.get(id);
    if (known !== undefined) return known;
    const name = db
      .prepare<[number], { name: string }>("SELECT name FROM actions WHERE id = ?")
      .get(id)?.name;
    if (name === undefined) return `#${id}`;
    onCommit(cache(name, id));
    return name;
  };

  const getMeta = db.prepare<[string], { value: string }>("SELECT value FROM meta WHERE key = ?");
  const setMeta = db.prepare<[string, string]>(
    "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
  );
  return {
    db,
    transaction,
    onCommit,
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
