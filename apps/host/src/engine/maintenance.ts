import type { HostLogger } from "../logger.js";
import type { StateStore } from "../store/types.js";
import type { Backlog } from "./backlog.js";
import type { ActionControl } from "./control.js";
import type { ActionRunner } from "./runner.js";

export interface MaintenanceDeps {
  store: StateStore;
  backlog: Backlog;
  runners: readonly ActionRunner[];
  control: ActionControl;
  log: HostLogger;
  dedupeWindowMs: number;
}

export interface Maintenance {
  /** Whether the store took a write (the heartbeat) in the last 15 s, for /readyz. */
  storeWritable(): boolean;
  stop(): void;
}

/** How often each chore runs. */
const EVERY = { prune: 30_000, heartbeat: 5_000, states: 1_000 };

/**
 * The host's periodic chores: prune the store and recount the backlog, prove the store writable (readiness;
 * with shared state, also this replica's liveness), and apply paused states set from outside. Returns the
 * function that stops them.
 */
export function startMaintenance(deps: MaintenanceDeps): Maintenance {
  const { store, backlog, runners, log } = deps;
  let writtenAt = Date.now();
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
  const timers = [
    every(
      EVERY.prune,
      async () => {
        await store.prune(Date.now(), deps.dedupeWindowMs);
        const held = runners.reduce((sum, runner) => sum + runner.ledger.withoutRow(), 0);
        backlog.reset((await store.countUnfinished()) + held);
      },
      "pruning the state store failed",
    ),
    every(
      EVERY.heartbeat,
      async () => {
        await store.touch(Date.now());
        writtenAt = Date.now();
      },
      "the state store is not writable",
    ),
    every(EVERY.states, () => deps.control.sync(), "could not read the actions' paused states"),
  ];
  return {
    storeWritable: () => Date.now() - writtenAt < 15_000,
    stop: () => {
      for (const timer of timers) clearInterval(timer);
    },
  };
}
