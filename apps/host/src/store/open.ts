import { join } from "node:path";
import type { LoadedConfig } from "../config/load.js";
import { openStoreThread } from "./client.js";
import { openPostgresStore } from "./postgres/store.js";
import { openSqliteStore, type SqliteStore } from "./sqlite.js";
import type { StateStore } from "./types.js";

const file = (dir: string) => join(dir, "switchyard.db");
const options = (loaded: LoadedConfig) => ({ synchronous: loaded.config.delivery.synchronous });
const postgresOptions = (loaded: LoadedConfig) => ({ leaseMs: loaded.config.delivery.leaseMs });

/** Open the store of a config's state on this thread (the CLI's one-off commands). */
export async function openStore(loaded: LoadedConfig): Promise<StateStore> {
  const { state } = loaded;
  if (state.engine === "postgres") return openPostgresStore(state.url, postgresOptions(loaded));
  return inline(openSqliteStore(file(state.dir), options(loaded)));
}

/**
 * Open the store of a config's state for the running host: SQLite on a thread of its own (`onFailure` hears
 * of a thread that died); Postgres is asynchronous already, the same store as `openStore`.
 */
export function openHostStore(loaded: LoadedConfig, onFailure?: (error: Error) => void): Promise<StateStore> {
  const { state } = loaded;
  if (state.engine === "postgres") return openPostgresStore(state.url, postgresOptions(loaded));
  return openStoreThread(file(state.dir), options(loaded), onFailure);
}

/** The synchronous SQLite store behind the async contract, on the caller's thread. */
export function inline(store: SqliteStore): StateStore {
  const wrapped = { engine: "sqlite" } as Record<string, unknown>;
  for (const [name, method] of Object.entries(store)) {
    wrapped[name] = async (...args: unknown[]) => (method as (...a: unknown[]) => unknown)(...args);
  }
  return wrapped as unknown as StateStore;
}
