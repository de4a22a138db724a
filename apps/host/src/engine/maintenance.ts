import type { HostLogger } from "../logger.js";
import type { StateStore } from "../store/types.js";
import type { Backlog } from "./backlog.js";
import type { ActionControl } from "./control.js";
import type { ActionRunner } from "./runner.js";
import type { HostStatus } from "./status.js";

export interface MaintenanceDeps {
  store: StateStore;
  backlog: Backlog;
  runners: readonly ActionRunner[];
  control: ActionControl;
  log: HostLogger;
  dedupeWindowMs: number;
  /** How long the delivery history (and the events' payloads) is kept; 0: no history. */
  historyRetentionMs: number;
  /** How long the audit log is kept (already at least the history's retention). */
  auditRetentionMs: number;
  /** Where the heartbeat's result is shown (readiness). */
  status: HostStatus;
}

/** How often each chore runs. */
const EVERY = { prune: 30_000, heartbeat: 2_000, states: 1_000 };

/**
 * The host's periodic chores: prune the store and recount the backlog, prove the store writable (readiness;
 * with shared state, also this replica's liveness), apply paused states set from outside, and with shared
 * state make due again the deliveries of replicas whose lease expired. Returns the function that stops them.
 */
export function startMaintenance(deps: MaintenanceDeps): () => void {
  const { store, backlog, runners, log, status } = deps;
  const every = (ms: number, chore: () => Promise<void>, failure: string) => {
    let running = false;
    const timer = setInterval(async () => {
      if (running) return;
      running = true;
      try {
        await chore();
      } catch (error) {
        log.error({ err: error }, failure);
      } finally {
        running = false;
      }
    }, ms);
    timer.unref();
    return timer;
  };
  const shared = store.leadership;
  // With shared state the heartbeat is this replica's liveness, which peers trust for 3 × leaseMs: touch at
  // least once per lease, so that one late or failed touch never gets a live replica's deliveries run again.
  const heartbeatMs = shared ? Math.max(100, Math.min(EVERY.heartbeat, shared.leaseMs)) : EVERY.heartbeat;
  const timers = [
    every(
      EVERY.prune,
      async () => {
        const now = Date.now();
        await store.prune(now, deps.dedupeWindowMs, deps.historyRetentionMs);
        if (deps.historyRetentionMs > 0) await store.pruneHistory(now - deps.historyRetentionMs);
        await store.pruneAudit(now - deps.auditRetentionMs);
        const held = runners.reduce((sum, runner) => sum + runner.heldWithoutRow(), 0);
        backlog.reset((await store.countUnfinished()) + held);
      },
      "pruning the state store failed",
    ),
    every(
      heartbeatMs,
      async () => {
        try {
          await store.touch(Date.now());
          status.storeWritable = true;
        } catch (error) {
          status.storeWritable = false;
          throw error;
        }
      },
      "the state store is not writable",
    ),
    every(EVERY.states, () => deps.control.sync(), "could not read the actions' paused states"),
  ];
  if (shared) {
    const recover = async () => {
      const recovered = await store.recover();
      if (recovered > 0)
        log.warn({ recovered }, "deliveries of a replica that stopped renewing run again here");
    };
    timers.push(every(shared.leaseMs, recover, "could not recover the deliveries of expired replicas"));
  }
  return () => {
    for (const timer of timers) clearInterval(timer);
  };
}
