// The store's thread: owns the SQLite connection and answers the host's requests in the order they came, so
// that a claim always sees the completions posted before it. See client.ts for the other side.
import { parentPort, workerData } from "node:worker_threads";
import type { CacheRecord } from "@switchyard/core";
import { type PackedCompletions, type PackedIngest, unpackCompletions, unpackIngest } from "./packing.js";
import { openSqliteStore, type SqliteStoreOptions } from "./sqlite.js";
import type { Store } from "./types.js";

export interface WorkerData {
  file: string;
  options: SqliteStoreOptions;
}

/** A request: [id, operation, arguments]. */
export type Request = [number, string, unknown[]];
/** A reply: [id, value] or [id, undefined, error]. */
export type Reply = [number, unknown] | [number, undefined, SerializedError];
export interface SerializedError {
  name: string;
  message: string;
  code?: string;
}

const port = parentPort!;
const { file, options } = workerData as WorkerData;
let store: Store;
try {
  store = openSqliteStore(file, options);
} catch (error) {
  port.postMessage({ failed: serialize(error) });
  process.exit(1);
}

const caches = new Map<string, ReturnType<Store["cacheBackend"]>>();
const cache = (action: string) => {
  let backend = caches.get(action);
  if (!backend) {
    backend = store.cacheBackend(action);
    caches.set(action, backend);
  }
  return backend;
};

type Operation = (...args: never[]) => unknown;
const operations: Record<string, Operation> = {
  getCursor: () => store.getCursor(),
  ingest: (packed: PackedIngest, cursor: string | undefined) => store.ingest(unpackIngest(packed), cursor),
  claim: (action: string, limit: number, now: number, ordered: boolean) =>
    store.claim(action, limit, now, ordered),
  complete: (packed: PackedCompletions) => store.complete(...unpackCompletions(packed)),
  recover: () => store.recover(),
  countUnfinished: () => store.countUnfinished(),
  stats: () => store.stats(),
  loadCache: (action: string) => [...cache(action).load()],
  saveCache: (action: string, key: string, record: CacheRecord) => {
    cache(action).save(key, record);
  },
  removeCache: (action: string, key: string) => {
    cache(action).remove(key);
  },
  prune: (now: number, dedupeWindowMs: number) => store.prune(now, dedupeWindowMs),
  touch: (now: number) => store.touch(now),
  close: () => store.close(),
};

port.on("message", ([id, op, args]: Request) => {
  let reply: Reply;
  try {
    const operation = operations[op];
    if (!operation) throw new Error(`unknown store operation ${op}`);
    reply = [id, operation(...(args as never[]))];
  } catch (error) {
    reply = [id, undefined, serialize(error)];
  }
  port.postMessage(reply);
});
port.postMessage({ ready: true });

function serialize(error: unknown): SerializedError {
  const e = error as { name?: unknown; message?: unknown; code?: unknown } | null;
  return {
    name: typeof e?.name === "string" ? e.name : "Error",
    message: typeof e?.message === "string" ? e.message : String(error),
    ...(typeof e?.code === "string" ? { code: e.code } : {}),
  };
}
