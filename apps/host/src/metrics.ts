import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { HostStore, StoreStats } from "./store/types.js";

/** The host's Prometheus metrics, on a registry of its own. */
export function createMetrics(store: () => HostStore | undefined) {
  const registry = new Registry();
  const eventsReceived = new Counter({
    name: "switchyard_events_received_total",
    help: "Events read from the stream, by type.",
    labelNames: ["type"] as const,
    registers: [registry],
  });
  const duplicates = new Counter({
    name: "switchyard_events_duplicate_total",
    help: "Events dropped because their id was already seen.",
    registers: [registry],
  });
  const malformed = new Counter({
    name: "switchyard_stream_malformed_total",
    help: "Stream frames skipped because they were malformed.",
    registers: [registry],
  });
  const reconnects = new Counter({
    name: "switchyard_stream_reconnects_total",
    help: "Stream reconnects.",
    registers: [registry],
  });
  const streamErrors = new Counter({
    name: "switchyard_stream_errors_total",
    help: "Retryable stream failures (network, error frames, 5xx).",
    registers: [registry],
  });
  const streamBytes = new Counter({
    name: "switchyard_stream_bytes_total",
    help: "Bytes read from the stream.",
    registers: [registry],
  });
  const connected = new Gauge({
    name: "switchyard_stream_connected",
    help: "1 while the stream is connected.",
    registers: [registry],
  });
  const lag = new Gauge({
    name: "switchyard_stream_lag_seconds",
    help: "Age of the newest event read, at the time it was read.",
    registers: [registry],
  });
  const deliveries = new Counter({
    name: "switchyard_deliveries_total",
    help: "Finished deliveries by action and outcome (delivered, dead).",
    labelNames: ["action", "outcome"] as const,
    registers: [registry],
  });
  const attempts = new Counter({
    name: "switchyard_delivery_attempts_total",
    help: "Delivery attempts by action and result (delivered, retryable, permanent).",
    labelNames: ["action", "result"] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: "switchyard_delivery_duration_seconds",
    help: "Duration of delivery attempts.",
    labelNames: ["action"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  // Queue depth and dead letters are read from the store when scraped (at most once a second).
  let cached: { at: number; stats: Promise<StoreStats | undefined> } | undefined;
  const stats = () => {
    const s = store();
    if (!s) return undefined;
    if (!cached || Date.now() - cached.at > 1000) {
      // A store that cannot answer leaves the gauges as they were; /metrics still answers.
      cached = { at: Date.now(), stats: s.stats().catch(() => undefined) };
    }
    return cached.stats;
  };
  const actionNames = new Set<string>();
  new Gauge({
    name: "switchyard_queue_depth",
    help: "Deliveries not finished yet (pending or in flight), by action.",
    labelNames: ["action"] as const,
    registers: [registry],
    async collect() {
      const s = await stats();
      for (const name of actionNames) this.set({ action: name }, s?.pending[name] ?? 0);
    },
  });
  new Gauge({
    name: "switchyard_dlq_size",
    help: "Dead-lettered deliveries, by action.",
    labelNames: ["action"] as const,
    registers: [registry],
    async collect() {
      const s = await stats();
      for (const name of actionNames) this.set({ action: name }, s?.dead[name] ?? 0);
    },
  });
  return {
    registry,
    eventsReceived,
    duplicates,
    malformed,
    reconnects,
    streamErrors,
    streamBytes,
    connected,
    lag,
    deliveries,
    attempts,
    duration,
    /** Actions whose queue depth and DLQ size are reported (also when zero). */
    track(name: string) {
      actionNames.add(name);
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
