import { join } from "node:path";
import { ConfigError } from "@switchyard/core";
import type { LoadedConfig } from "../config/load.js";
import { openStoreThread } from "./sqlite/client.js";
import { openSqliteStore, type SqliteStore } from "./sqlite/index.js";
import type { StateStore } from "./types.js";

const file = (dir: string) => join(dir, "switchyard.db");
const options = (loaded: LoadedConfig) => ({ synchronous: loaded.config.delivery.synchronous });
// Loaded only when configured: SQLite hosts and CLI runs do not pay for the driver's import.
const openPostgres = async (url: string, loaded: LoadedConfig, replicaId?: string) =>
  (await import("./postgres/store.js")).openPostgresStore(url, {
    leaseMs: loaded.config.delivery.leaseMs,
    ...(replicaId !== undefined ? { replicaId } : {}),
  });

/**
 * `SWITCHYARD_REPLICA_ID`: the name this host goes by in the shared state, logs, metrics and the console,
 * kept across restarts (by default a new one per process: hostname-pid-random). Two running replicas must
 * never share one: each would take the other's lease for its own.
 */
export function replicaIdFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const id = env.SWITCHYARD_REPLICA_ID;
  if (id === undefined || id === "") return undefined;
  if (!/^[A-Za-z0-9][A-Za-z0-9._:-]{0,62}$/.test(id)) {
    throw new ConfigError(
      `SWITCHYARD_REPLICA_ID must be 1-63 letters, digits, ".", "_", ":" or "-", starting with a letter or digit (got "${id.slice(0, 80)}")`,
    );
  }
  return id;
}

/** Open the store of a config's state on this thread (the CLI's one-off commands). */
export async function openStore(loaded: LoadedConfig): Promise<StateStore> {
  const { state } = loaded;
  if (state.engine === "postgres") return openPostgres(state.url, loaded);
  return inline(openSqliteStore(file(state.dir), options(loaded)));
}

/**
 * Open the store of a config's state for the running host: SQLite on a thread of its own (`onFailure` hears
 * of a thread that died); Postgres is asynchronous already, the same store as `openStore`.
 */
export function openHostStore(loaded: LoadedConfig, onFailure?: (error: Error) => void): Promise<StateStore> {
  const { state } = loaded;
  // Only the host takes the configured replica id: a CLI command run beside it (same environment) must not
  // register as the host, or its exit would look like the host's.
  if (state.engine === "postgres") return openPostgres(state.url, loaded, replicaIdFromEnv());
  return openStoreThread(file(state.dir), options(loaded), onFailure);
}

/** The synchronous SQLite store behind the async contract, on the caller's thread. */
export function inline(store: SqliteStore): StateStore {
  const wrapped = { engine: "sqlite", heldDeliveries: "watermark" } as Record<string, unknown>;
  for (const [name, method] of Object.entries(store)) {
    wrapped[name] = async (...args: unknown[]) => (method as (...a: unknown[]) => unknown)(...args);
  }
  return wrapped as unknown as StateStore;
}
