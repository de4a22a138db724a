import { join } from "node:path";
import type { LoadedConfig } from "../config/load.js";
import { openSqliteStore } from "./sqlite.js";
import type { Store } from "./types.js";

/** Open the store of a config's state folder. */
export function openStore(loaded: LoadedConfig): Store {
  return openSqliteStore(join(loaded.stateDir, "switchyard.db"), {
    synchronous: loaded.config.delivery.synchronous,
  });
}
