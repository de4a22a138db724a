import { waitFor } from "@switchyard/testing";
import pino from "pino";
import { describe, it } from "vitest";
import type { Leadership, StateStore } from "../store/types.js";
import { Backlog } from "./backlog.js";
import type { ActionControl } from "./control.js";
import { startMaintenance } from "./maintenance.js";
import { newStatus } from "./status.js";

/** A store that only counts the heartbeat's touches; shared (with a lease) or not. */
function countingStore(leaseMs?: number) {
  const counts = { touches: 0 };
  const leadership: Leadership | undefined =
    leaseMs === undefined
      ? undefined
      : {
          replicaId: "r1",
          leaseMs,
          acquire: async () => true,
          release: async () => {},
          peers: async () => 0,
          leader: async () => "r1",
        };
  const store = {
    engine: leaseMs === undefined ? "sqlite" : "postgres",
    leadership,
    touch: async () => {
      counts.touches++;
    },
    recover: async () => 0,
    prune: async () => {},
    pruneAudit: async () => 0,
    countUnfinished: async () => 0,
  } as unknown as StateStore;
  return { store, counts };
}

const start = (store: StateStore) =>
  startMaintenance({
    store,
    backlog: new Backlog(1000),
    runners: [],
    control: { sync: async () => {} } as unknown as ActionControl,
    log: pino({ level: "silent" }),
    dedupeWindowMs: 60_000,
    historyRetentionMs: 0,
    auditRetentionMs: 90 * 86_400_000,
    status: newStatus(),
  });

describe("maintenance", () => {
  it("renews a replica's liveness at least once per lease, however short the lease", async () => {
    // Peers count a replica alive for 3 × leaseMs after a touch: a 300 ms lease needs touches far more often
    // than the usual 2 s heartbeat, or live replicas' deliveries would be run again by their peers.
    const { store, counts } = countingStore(300);
    const stop = start(store);
    try {
      await waitFor(() => counts.touches >= 3, { timeoutMs: 1_500, message: "three touches within 1.5 s" });
    } finally {
      stop();
    }
  });
});
