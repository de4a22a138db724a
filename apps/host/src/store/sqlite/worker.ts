// The store's thread: owns the SQLite connection and answers the host's requests in the order they came, so
// that a claim always sees the completions posted before it. See client.ts for the other side.
import { parentPort, workerData } from "node:worker_threads";
import { rescueStateFiles, watchStateFiles } from "./files.js";
import { openSqliteStore, type SqliteStore, type SqliteStoreOptions } from "./index.js";
import {
  type PackedAttempts,
  type PackedCompletions,
  type PackedIngest,
  unpackAttempts,
  unpackCompletions,
  unpackIngest,
} from "./packing.js";

export interface WorkerData {
  file: string;
  options: SqliteStoreOptions;
}

/**
 * What crosses the thread: each store operation's own arguments, except the three hot ones, which travel
 * packed (packing.ts).
 */
export type ThreadOps = Omit<
  SqliteStore,
  "ingest" | "complete" | "recordAttempts" | "checkpoint" | "saveCopy" | "checkpointAll"
> & {
  ingest(
    packed: PackedIngest,
    cursor: string | undefined,
    tenant: string | undefined,
  ): ReturnType<SqliteStore["ingest"]>;
  complete(packed: PackedCompletions): void;
  recordAttempts(packed: PackedAttempts): void;
};
export type OpName = keyof ThreadOps;

/** A request: [id, operation, arguments]. */
export type Request = { [K in OpName]: [number, K, Parameters<ThreadOps[K]>] }[OpName];
/** A reply: [id, value] or [id, undefined, error]. */
export type Reply = [number, unknown] | [number, undefined, SerializedError];
export interface SerializedError {
  name: string;
  message: string;
  code?: string;
}

const port = parentPort!;
const { file, options } = workerData as WorkerData;
let store: SqliteStore;
try {
  store = openSqliteStore(file, options);
} catch (error) {
  port.postMessage({ failed: serialize(error) });
  process.exit(1);
}

const { checkpoint, saveCopy, checkpointAll, ...methods } = store;
/** Why the store stopped answering: its files were lost (below). */
let lost: Error | undefined;
const operations: ThreadOps = {
  ...methods,
  ingest: (packed, cursor, tenant) => store.ingest(unpackIngest(packed), cursor, tenant),
  complete: (packed) => store.complete(...unpackCompletions(packed)),
  recordAttempts: (packed) => store.recordAttempts(unpackAttempts(packed)),
};

port.on("message", ([id, op, args]: Request) => {
  let reply: Reply;
  try {
    // Files lost: nothing more is written where no restart would find it (closing is still answered, after
    // a last look at the files: a host stopped within a second of its folder's deletion saves it too).
    if (op === "close") checkFiles();
    else if (lost) throw lost;
    const operation = operations[op] as ((...args: unknown[]) => unknown) | undefined;
    if (typeof operation !== "function") throw new Error(`unknown store operation ${op}`);
    reply = [id, operation(...args)];
  } catch (error) {
    reply = [id, undefined, serialize(error)];
  }
  port.postMessage(reply);
  checkpointSoon();
});
port.postMessage({ ready: true });

// The database's files, checked between requests (files.ts) and before closing: when they are no longer the
// ones this connection writes, what it holds is saved where a restart finds it, every later request fails, and
// the host hears of it at once (a `lost` message) to stop. Two `stat`s a second.
const FILES_CHECK_MS = 1_000;
const filesChanged = watchStateFiles(file);
const filesTimer = setInterval(checkFiles, FILES_CHECK_MS);
filesTimer.unref();

function checkFiles(): void {
  if (lost) return;
  const change = filesChanged();
  if (!change) return;
  clearInterval(filesTimer);
  lost = rescueStateFiles(file, change, { saveCopy, checkpointAll });
  port.postMessage({ lost: serialize(lost) });
}

// The WAL's checkpoint, between requests. Left to SQLite, it runs at the commit that fills the WAL to its
// limit (wal_autocheckpoint, 4,000 pages), inside whatever request made that commit: ~20 ms on this thread,
// nearly all of it the two fsyncs, during which every request behind it waits (an ingest included); that was
// the host's p99 latency at a steady 1,000 events/s. So the thread checkpoints on its own, at most every
// IDLE_CHECKPOINT_MS after a request and after it answered the requests then waiting: each checkpoint copies
// a few hundred pages at that rate (~2 ms), and SQLite's own stays the limit under a heavier load.
const IDLE_CHECKPOINT_MS = 100;
let checkpointTimer: NodeJS.Timeout | undefined;

function checkpointSoon(): void {
  if (checkpointTimer) return;
  checkpointTimer = setTimeout(() => {
    checkpointTimer = undefined;
    try {
      checkpoint();
    } catch {
      // Nothing is lost: the pages stay in the WAL for the next checkpoint, SQLite's own included.
    }
  }, IDLE_CHECKPOINT_MS);
  checkpointTimer.unref();
}

function serialize(error: unknown): SerializedError {
  const e = error as { name?: unknown; message?: unknown; code?: unknown } | null;
  return {
    name: typeof e?.name === "string" ? e.name : "Error",
    message: typeof e?.message === "string" ? e.message : String(error),
    ...(typeof e?.code === "string" ? { code: e.code } : {}),
  };
}
