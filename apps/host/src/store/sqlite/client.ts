import type { Worker } from "node:worker_threads";
import { startThread } from "../../thread.js";
import type { StateStore } from "../types.js";
import type { SqliteStoreOptions } from "./index.js";
import { packAttempts, packCompletions, packIngest } from "./packing.js";
import type { OpName, Reply, Request, SerializedError, ThreadOps, WorkerData } from "./worker.js";

type Pending = { resolve: (value: never) => void; reject: (error: Error) => void };

/**
 * Open the SQLite store on a thread of its own. SQLite costs about 25 µs of CPU per event (its row and the
 * commit), more for deliveries that need rows: on the host's thread that would be time taken from
 * deliveries. Requests are answered in order; `onFailure` hears of a thread that died.
 */
export async function openStoreThread(
  file: string,
  options: SqliteStoreOptions,
  onFailure: (error: Error) => void = () => {},
): Promise<StateStore> {
  const worker = spawnWorker({ file, options });
  const pending = new Map<number, Pending>();
  let nextId = 0;
  let broken: Error | undefined;
  let closed = false;

  const fail = (error: Error) => {
    if (broken || closed) return;
    broken = error;
    for (const { reject } of pending.values()) reject(error);
    pending.clear();
    onFailure(error);
  };

  const opening = { message: (_: unknown) => {}, error: (_: Error) => {}, exit: (_: number) => {} };
  try {
    await new Promise<void>((resolve, reject) => {
      opening.message = (message) => {
        const { ready, failed } = message as { ready?: true; failed?: SerializedError };
        if (ready) resolve();
        else if (failed) reject(revive(failed));
      };
      opening.error = reject;
      opening.exit = (code) => reject(new Error(`the store thread exited with code ${code}`));
      worker.once("message", opening.message).once("error", opening.error).once("exit", opening.exit);
    });
  } catch (error) {
    await worker.terminate();
    throw error;
  } finally {
    worker.off("message", opening.message).off("error", opening.error).off("exit", opening.exit);
  }

  worker.on("message", (message: Reply | { lost: SerializedError }) => {
    // The database's files are not the ones the thread opened (files.ts): the host stops.
    if (!Array.isArray(message)) return fail(revive(message.lost));
    const [id, value, error] = message;
    const call = pending.get(id);
    if (!call) return;
    pending.delete(id);
    if (error) call.reject(revive(error));
    else call.resolve(value as never);
  });
  worker.on("error", (error) => fail(new Error(`the store thread failed: ${error.message}`)));
  worker.on("exit", (code) => fail(new Error(`the store thread exited with code ${code}`)));

  /** Run one store operation on the thread; typed by the operation's own signature. */
  const call = <K extends OpName>(
    op: K,
    ...args: Parameters<ThreadOps[K]>
  ): Promise<ReturnType<ThreadOps[K]>> => {
    if (broken) return Promise.reject(broken);
    if (closed) return Promise.reject(new Error("the store is closed"));
    const id = ++nextId;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve: resolve as (value: never) => void, reject });
      worker.postMessage([id, op, args] as Request);
    });
  };

  return {
    engine: "sqlite",
    heldDeliveries: "watermark",
    getCursor: (tenant) => call("getCursor", tenant),
    ingest: (events, cursor, tenant) => call("ingest", packIngest(events), cursor, tenant),
    claim: (action, limit, now, ordered) => call("claim", action, limit, now, ordered),
    complete: (completions, watermarks) => call("complete", packCompletions(completions, watermarks)),
    recover: () => call("recover"),
    countUnfinished: () => call("countUnfinished"),
    stats: (tenant) => call("stats", tenant),
    listDead: (filter) => call("listDead", filter),
    countDead: (filter) => call("countDead", filter),
    replayDead: (filter, now, superseded) => call("replayDead", filter, now, superseded),
    supersededDead: (filter) => call("supersededDead", filter),
    latestDelivered: (action, subject) => call("latestDelivered", action, subject),
    purgeDead: (filter) => call("purgeDead", filter),
    purgeAction: (action) => call("purgeAction", action),
    actionStates: () => call("actionStates"),
    setActionState: (action, state) => call("setActionState", action, state),
    setBreaker: (record) => call("setBreaker", record),
    breakers: () => call("breakers"),
    resetBreakers: (replica) => call("resetBreakers", replica),
    loadCache: (action) => call("loadCache", action),
    saveCache: (action, key, record) => call("saveCache", action, key, record),
    removeCache: (action, key) => call("removeCache", action, key),
    prune: (now, dedupeWindowMs, keepPayloadsMs) => call("prune", now, dedupeWindowMs, keepPayloadsMs),
    recordAttempts: (records) => call("recordAttempts", packAttempts(records)),
    searchAttempts: (query) => call("searchAttempts", query),
    activity: (since, tenant) => call("activity", since, tenant),
    latency: (since, tenant) => call("latency", since, tenant),
    event: (eventId, tenant) => call("event", eventId, tenant),
    eventTenants: (eventId) => call("eventTenants", eventId),
    pruneHistory: (before) => call("pruneHistory", before),
    recordAudit: (record) => call("recordAudit", record),
    searchAudit: (query) => call("searchAudit", query),
    pruneAudit: (before) => call("pruneAudit", before),
    touch: (now) => call("touch", now),
    async close() {
      if (closed) return;
      if (!broken) await call("close").catch(() => {});
      closed = true;
      await worker.terminate();
    },
  };
}

function revive(error: SerializedError): Error {
  return Object.assign(new Error(error.message), error);
}

function spawnWorker(workerData: WorkerData): Worker {
  return startThread(import.meta.url, "worker", workerData);
}
