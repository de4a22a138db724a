import { join } from "node:path";
import type { LoadedConfig } from "../config/load.js";
import { openStoreThread } from "./client.js";
import { openSqliteStore } from "./sqlite.js";
import type { HostStore, Store } from "./types.js";

const file = (loaded: LoadedConfig) => join(loaded.stateDir, "switchyard.db");
const options = (loaded: LoadedConfig) => ({ synchronous: loaded.config.delivery.synchronous });

/** Open the store of a config's state folder, on this thread (the CLI's one-off commands). */
export function openStore(loaded: LoadedConfig): Store {
  return openSqliteStore(file(loaded), options(loaded));
}

/** Open the store of a config's state folder on a thread of its own, for the running host. */
export function openHostStore(loaded: LoadedConfig, onFailure?: (error: Error) => void): Promise<HostStore> {
  return openStoreThread(file(loaded), options(loaded), onFailure);
}
