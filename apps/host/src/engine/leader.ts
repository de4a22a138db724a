import { describeError } from "@switchyard/core";
import type { HostLogger } from "../logger.js";
import type { SourceMetrics } from "../metrics.js";
import type { Leadership } from "../store/types.js";
import type { StreamStatus } from "./status.js";

export interface LeaderDeps {
  /** Undefined for state only this host uses (SQLite): it always reads. */
  leadership: Leadership | undefined;
  /** Start reading the stream from the stored cursor; `onFailure` hears why it stopped. Returns `stop`. */
  read: (onFailure: (error: Error) => void) => Promise<() => Promise<void>>;
  /** The tenant's source metrics (the leader gauge). */
  metrics: Pick<SourceMetrics, "leader">;
  log: HostLogger;
  /** Where `leading` is shown (readiness). */
  status: StreamStatus;
  /** A failure of the stream with state only this host uses: the host stops (nothing is lost). */
  fatal: (error: Error) => void;
  /** Shared state: told, at each renewal while leading, whether another replica is alive. */
  onPeers?: (alive: boolean) => void;
}

export interface StreamLeader {
  /** Stop reading and give the lease up. */
  stop(): Promise<void>;
}

/**
 * Reads the stream while this host leads. Alone on its state, it leads from start to stop, and a stream or
 * store failure is fatal. With shared state it renews the lease three times per lease period, reads only
 * while it holds it, and steps down (stops reading, keeps delivering) when the lease is lost, the database is
 * unreachable, or its ingest was fenced; a standby takes over from the stored cursor.
 */
export function leadStream(deps: LeaderDeps): StreamLeader {
  const { leadership, metrics, log, status } = deps;
  let stopReading: (() => Promise<void>) | undefined;
  let stopped = false;
  const leading = (value: boolean) => {
    status.leading = value;
    metrics.leader.set(value ? 1 : 0);
    // Only a leader reads ahead.
    if (!value) deps.onPeers?.(false);
  };

  if (!leadership) {
    const started = deps.read(deps.fatal).then((stop) => {
      stopReading = stop;
    });
    leading(true);
    return {
      async stop() {
        await started;
        await stopReading?.();
      },
    };
  }

  const stepDown = async (why: string, fields: Record<string, unknown> = {}) => {
    const stop = stopReading;
    stopReading = undefined;
    leading(false);
    if (stop) {
      log.warn({ replica: leadership.replicaId, ...fields }, `stepping down as stream leader: ${why}`);
      await stop();
    }
  };
  const tick = async () => {
    let holds = false;
    try {
      holds = await leadership.acquire();
    } catch (error) {
      if (stopReading) await stepDown("the state database is unreachable", { error: describeError(error) });
      return;
    }
    if (!holds) {
      if (stopReading) await stepDown("another replica holds the lease");
      await noteStandby();
      return;
    }
    if (stopReading && leadership.shouldYield && (await leadership.shouldYield().catch(() => false))) {
      // Streams spread over the replicas: one that leads fewer takes this one (store/postgres/lease.ts).
      await stepDown("another replica leads fewer streams: it takes this one over");
      await leadership.release().catch(() => {});
      return;
    }
    if (deps.onPeers) {
      // Unknown (the query failed): as if alone, which only makes the leader wait for its own room.
      const peers = await leadership.peers().catch(() => 0);
      deps.onPeers(peers > 0);
    }
    if (stopReading || stopped) return;
    announced = false;
    log.info(
      { replica: leadership.replicaId, role: "leader" },
      "leading the stream: reading from the stored cursor",
    );
    leading(true);
    stopReading = await deps.read((error) => {
      void stepDown("the stream or the state failed; a replica reads on from the stored cursor", {
        error: error.message,
      });
    });
  };

  // A standby says so, and who leads, when it starts and whenever the leader changes.
  let announced = false;
  let lastLeader: string | undefined;
  const noteStandby = async () => {
    const leader = await leadership.leader().catch(() => undefined);
    if (announced && leader === lastLeader) return;
    announced = true;
    lastLeader = leader;
    log.info(
      { replica: leadership.replicaId, role: "standby", leader: leader ?? null },
      leader
        ? "standby: another replica reads the stream; this one delivers and takes over if it stops"
        : "standby: no replica holds the stream's lease; this one tries to take it",
    );
  };

  leading(false);
  let running = Promise.resolve();
  const timer = setInterval(
    () => {
      running = running.then(tick);
    },
    Math.max(100, Math.floor(leadership.leaseMs / 3)),
  );
  running = running.then(tick);
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
      const wasLeading = stopReading !== undefined;
      const stop = stopReading;
      stopReading = undefined;
      await stop?.();
      leading(false);
      if (wasLeading) await leadership.release().catch(() => {});
    },
  };
}
