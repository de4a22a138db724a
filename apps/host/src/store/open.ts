import { join } from "node:path";
import type { LoadedConfig } from "../config/load.js";
import { openStoreThread } from "./client.js";
import { openSqliteStore, type SqliteStore } from "./sqlite.js";
import type { StateStore } from "./types.js";

const file = (loaded: LoadedConfig) => join(loaded.stateDir, "switchyard.db");
const options = (loaded: LoadedConfig) => ({ synchronous: loaded.config.delivery.synchronous });

/** Open the store of a config's state on this thread (the CLI's one-off commands). */
export async function openStore(loaded: LoadedConfig): Promise<StateStore> {
  return inline(openSqliteStore(file(loaded), options(loaded)));
}

/** Open the store of a config's state on a thread of its own, for the running host. */
export function openHostStore(loaded: LoadedConfig, onFailure?: (error: Error) => void): Promise<StateStore> {
  return openStoreThread(file(loaded), options(loaded), onFailure);
}

/** The synchronous SQLite store behind the async contract, on the caller's thread. */
export function inline(store: SqliteStore): StateStore {
  const wrapped = { engine: "sqlite" } as Record<string, unknown>;
  for (const [name, method] of Object.entries(store)) {
    wrapped[name] = async (...args: unknown[]) => (method as (...a: unknown[]) => unknown)(...args);
  }
  return wrapped as unknown as StateStore;
}
