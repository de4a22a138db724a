// The embedded store, one facet per file: schema.ts opens and migrates the file; deliveries, dead letters,
// states, history, audit and upkeep each answer their part of the contract (types.ts) from a shared
// context (context.ts).
import type { StoreMethods } from "../types.js";
import { sqliteAudit } from "./audit.js";
import { type Synchronous, sqliteContext } from "./context.js";
import { sqliteDeadLetters } from "./dead-letters.js";
import { sqliteDeliveries } from "./deliveries.js";
import { sqliteHistory } from "./history.js";
import { openSqliteDatabase, type SqliteStoreOptions } from "./schema.js";
import { sqliteStates } from "./states.js";
import { type SqliteUpkeep, sqliteUpkeep } from "./upkeep.js";

export { SQLITE_SCHEMA_VERSION, type SqliteStoreOptions } from "./schema.js";

/** The store contract, answered synchronously: SQLite's calls block (the host runs them on a thread). */
export type SqliteStore = Synchronous<StoreMethods> &
  Pick<SqliteUpkeep, "checkpoint" | "saveCopy" | "checkpointAll">;

/** The embedded store: one SQLite file in WAL mode (better-sqlite3). */
export function openSqliteStore(file: string, options: SqliteStoreOptions = {}): SqliteStore {
  const context = sqliteContext(openSqliteDatabase(file, options));
  return {
    ...sqliteHistory(context),
    ...sqliteAudit(context),
    ...sqliteDeliveries(context),
    ...sqliteDeadLetters(context),
    ...sqliteStates(context),
    ...sqliteUpkeep(context),
  };
}
