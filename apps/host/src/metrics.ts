import { isKnownEventType } from "@switchyard/core";
import {
  Counter,
  type CounterConfiguration,
  Gauge,
  type MetricObjectWithValues,
  type MetricValueWithName,
  Registry,
} from "prom-client";
import type { StateStore, StoreStats } from "./store/types.js";

/**
 * The host's Prometheus metrics, on a registry of its own. `tenants`: the config lists `sources`, so the
 * sources' metrics (events read, the stream's) carry a `tenant` label; a single `source` keeps them as they
 * always were, unlabelled.
 */
export function createMetrics(options: { tenants?: boolean } = {}) {
  const registry = new Registry();
  const byTenant = options.tenants === true;
  const tenantLabel = byTenant ? (["tenant"] as const) : ([] as const);
  /** The store the queue-depth and dead-letter gauges are read from, once it is open. */
  let store: StateStore | undefined;
  const eventsReceived = typeCounter({
    name: "switchyard_events_received_total",
    help: "Events read from the stream, by type (a type outside the catalog counts as `other`).",
    labelNames: byTenant ? (["type", "tenant"] as const) : (["type"] as const),
    registers: [registry],
  });
  const duplicates = new Counter({
    name: "switchyard_events_duplicate_total",
    help: "Events dropped because their id was already seen.",
    labelNames: tenantLabel,
    registers: [registry],
  });
  const invalid = typeCounter({
    name: "switchyard_events_invalid_total",
    help: "Events delivered as they are although their data deviates from the schema of their type, by type (`other` outside the catalog).",
    labelNames: byTenant ? (["type", "tenant"] as const) : (["type"] as const),
    registers: [registry],
  });
  const malformed = new Counter({
    name: "switchyard_stream_malformed_total",
    help: "Stream frames skipped because they were malformed.",
    labelNames: tenantLabel,
    registers: [registry],
  });
  const reconnects = new Counter({
    name: "switchyard_stream_reconnects_total",
    help: "Stream reconnects.",
    labelNames: tenantLabel,
    registers: [registry],
  });
  const streamErrors = new Counter({
    name: "switchyard_stream_errors_total",
    help: "Retryable stream failures (network, error frames, 5xx).",
    labelNames: tenantLabel,
    registers: [registry],
  });
  const streamBytes = new Counter({
    name: "switchyard_stream_bytes_total",
    help: "Bytes read from the stream.",
    labelNames: tenantLabel,
    registers: [registry],
  });
  const connected = new Gauge({
    name: "switchyard_stream_connected",
    help: "1 while the stream is connected.",
    labelNames: tenantLabel,
    registers: [registry],
  });
  const paused = new Gauge({
    name: "switchyard_action_paused",
    help: "1 while the action is paused (by an operator or after too many consecutive failures).",
    labelNames: ["action"] as const,
    registers: [registry],
  });
  const actionState = new Gauge({
    name: "switchyard_action_state",
    help: "1 for the state each action is in (running, paused, failed: the host could not start it), 0 for the others.",
    labelNames: ["action", "state"] as const,
    registers: [registry],
  });
  const uncaught = new Counter({
    name: "switchyard_uncaught_errors_total",
    help: "Errors thrown or rejected outside any attempt's await (a plugin's timer or emitter), by action (empty when unknown); the host keeps running.",
    labelNames: ["action", "kind"] as const,
    registers: [registry],
  });
  const leader = new Gauge({
    name: "switchyard_stream_leader",
    help: "1 while this host reads the stream (with shared state, the one replica that leads).",
    labelNames: tenantLabel,
    registers: [registry],
  });
  const lag = new Gauge({
    name: "switchyard_stream_lag_seconds",
    help: "Age of the newest event read, at the time it was read.",
    labelNames: tenantLabel,
    registers: [registry],
  });
  const deliveries = countedCounter({
    name: "switchyard_deliveries_total",
    help: "Finished deliveries by action and outcome (delivered, dead, stale: skipped by latestWins, filtered: skipped by its transform).",
    labelNames: ["action", "outcome"] as const,
    registers: [registry],
  });
  const attempts = countedCounter({
    name: "switchyard_delivery_attempts_total",
    help: "Delivery attempts by action and result (delivered, retryable, permanent).",
    labelNames: ["action", "result"] as const,
    registers: [registry],
  });
  const historyDropped = new Counter({
    name: "switchyard_history_dropped_total",
    help: "Attempts not recorded in the delivery history (the store refused the write, or too many waited).",
    registers: [registry],
  });
  const duration = new DurationHistogram(
    "switchyard_delivery_duration_seconds",
    "Duration of delivery attempts.",
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  );
  registry.registerMetric(duration as never);
  const pacingWait = new DurationHistogram(
    "switchyard_pacing_wait_seconds",
    "Time deliveries of an action with a rate limit or a circuit breaker waited in the runner's queue before their attempt.",
    [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
  );
  registry.registerMetric(pacingWait as never);
  /** Per action: its current rate, and its breaker's state if it has one (see `trackPacing`). */
  const pacing = new Map<string, { rate: () => number; breaker: () => number | undefined }>();
  new Gauge({
    name: "switchyard_action_rate",
    help: "Deliveries started per second by action, averaged over the last 10 s (this host's).",
    labelNames: ["action"] as const,
    registers: [registry],
    collect() {
      for (const [name, read] of pacing) this.set({ action: name }, read.rate());
    },
  });
  new Gauge({
    name: "switchyard_circuit_breaker_state",
    help: "The circuit breaker of each action that has one (this host's): 0 closed, 1 open, 2 half-open.",
    labelNames: ["action"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [name, read] of pacing) {
        const state = read.breaker();
        if (state !== undefined) this.set({ action: name }, state);
      }
    },
  });
  // Queue depth and dead letters are read from the store when scraped (at most once a second).
  let cached: { at: number; stats: Promise<StoreStats | undefined> } | undefined;
  const stats = () => {
    const s = store;
    if (!s) return undefined;
    if (!cached || Date.now() - cached.at > 1000) {
      // A store that cannot answer leaves the gauges as they were; /metrics still answers.
      cached = { at: Date.now(), stats: s.stats().catch(() => undefined) };
    }
    return cached.stats;
  };
  /** The tracked actions, with their deliveries held in memory that have no row in the store. */
  const actionNames = new Map<string, () => number>();
  new Gauge({
    name: "switchyard_queue_depth",
    help: "Deliveries not finished yet (pending or in flight), by action.",
    labelNames: ["action"] as const,
    registers: [registry],
    async collect() {
      const s = await stats();
      for (const [name, held] of actionNames) this.set({ action: name }, (s?.pending[name] ?? 0) + held());
    },
  });
  new Gauge({
    name: "switchyard_dlq_size",
    help: "Dead-lettered deliveries, by action.",
    labelNames: ["action"] as const,
    registers: [registry],
    async collect() {
      const s = await stats();
      for (const name of actionNames.keys()) this.set({ action: name }, s?.dead[name] ?? 0);
    },
  });
  const sources = new Map<string, SourceMetrics>();
  /** The metrics of one tenant's sources (labelled with it when the config lists `sources`). */
  const source = (tenant: string): SourceMetrics => {
    let found = sources.get(tenant);
    if (!found) {
      const t = byTenant ? [tenant] : [];
      found = {
        eventsReceived: { labels: (type) => eventsReceived.labels(type, ...t) },
        invalid: { labels: (type) => invalid.labels(type, ...t) },
        duplicates: duplicates.labels(...t),
        malformed: malformed.labels(...t),
        reconnects: reconnects.labels(...t),
        streamErrors: streamErrors.labels(...t),
        streamBytes: streamBytes.labels(...t),
        connected: connected.labels(...t),
        leader: leader.labels(...t),
        lag: lag.labels(...t),
      };
      sources.set(tenant, found);
    }
    return found;
  };
  return {
    registry,
    /** The config lists `sources`: the sources' metrics carry a `tenant` label. */
    byTenant,
    source,
    eventsReceived,
    duplicates,
    /** `invalid.labels(type).inc()`: an event delivered although its `data` deviates from its type's schema. */
    invalid,
    malformed,
    reconnects,
    streamErrors,
    streamBytes,
    connected,
    paused,
    /** `setActionState(name, state)`: 1 for `state`, 0 for the other states. */
    setActionState(action: string, state: "running" | "paused" | "failed") {
      for (const each of ["running", "paused", "failed"] as const)
        actionState.labels(action, each).set(each === state ? 1 : 0);
    },
    /** `uncaught.labels(action, kind).inc()`: kind is `exception` or `rejection`. */
    uncaught,
    leader,
    lag,
    deliveries,
    attempts,
    duration,
    historyDropped,
    /** `pacingWait.labels(action).observe(seconds)`: a paced delivery's time in the runner's queue. */
    pacingWait,
    /** Report an action's current rate and its breaker's state (0 closed, 1 open, 2 half-open; none: no breaker). */
    trackPacing(name: string, read: { rate: () => number; breaker: () => number | undefined }) {
      pacing.set(name, read);
    },
    /**
     * Actions whose queue depth and DLQ size are reported (also when zero). `held` counts the action's
     * deliveries in memory that the store has no row for.
     */
    track(name: string, held: () => number) {
      actionNames.set(name, held);
    },
    /** Read queue depths and dead letters from this store when scraped. */
    readFrom(opened: StateStore) {
      store = opened;
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

// The counters and the histogram below are hit for every event and every attempt. prom-client hashes the
// labels on each call (a few µs a delivery on the hottest path), so these count in plain numbers and hand
// the totals to prom-client, or format them, only when /metrics is scraped.

interface CountedChild {
  inc(by?: number): void;
}

/** One tenant's sources' metrics (see `createMetrics`). */
export interface SourceMetrics {
  eventsReceived: { labels(type: string): CountedChild };
  invalid: { labels(type: string): CountedChild };
  duplicates: { inc(by?: number): void };
  malformed: { inc(by?: number): void };
  reconnects: { inc(by?: number): void };
  streamErrors: { inc(by?: number): void };
  streamBytes: { inc(by?: number): void };
  connected: { set(value: number): void };
  leader: { set(value: number): void };
  lag: { set(value: number): void };
}

/** A labelled Counter whose children count in plain numbers, added to the Counter when it is collected. */
function countedCounter<T extends string>(config: CounterConfiguration<T>) {
  const children = new Map<string, CountedChild & { labels: Record<string, string>; n: number }>();
  new Counter<T>({
    ...config,
    collect() {
      for (const child of children.values()) {
        if (child.n === 0) continue;
        this.inc(child.labels as never, child.n);
        child.n = 0;
      }
    },
  });
  const names = config.labelNames ?? [];
  return {
    /** The child for these label values (in the order of `labelNames`). */
    labels(...values: string[]): CountedChild {
      const key = values.length === 1 ? values[0]! : values.join("\u0000");
      let child = children.get(key);
      if (!child) {
        child = {
          labels: Object.fromEntries(names.map((name, i) => [name, values[i] ?? ""])),
          n: 0,
          inc(by = 1) {
            this.n += by;
          },
        };
        children.set(key, child);
      }
      return child;
    },
  };
}

/**
 * A counter labelled by event type. Only the catalog's 25 types are labels of their own: any other string
 * counts as `other`, since a client may send as many distinct types as it likes, and each label is a
 * series that /metrics keeps for good.
 */
function typeCounter(config: CounterConfiguration<"type" | "tenant">) {
  const counter = countedCounter(config);
  return {
    /** `tenant`: when the counter has the label. */
    labels(type: string, ...tenant: string[]): CountedChild {
      return counter.labels(isKnownEventType(type) ? type : OTHER_TYPE, ...tenant);
    },
  };
}

/** The `type` label of every event type outside the catalog. */
export const OTHER_TYPE = "other";

/** A Prometheus histogram by action, kept in typed arrays and formatted by prom-client's registry. */
class DurationHistogram {
  readonly type = "histogram";
  readonly aggregator = "sum";
  private readonly series = new Map<string, { buckets: Float64Array; sum: number; count: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
  ) {}

  labels(action: string): { observe(seconds: number): void } {
    let series = this.series.get(action);
    if (!series) {
      series = { buckets: new Float64Array(this.bounds.length), sum: 0, count: 0 };
      this.series.set(action, series);
    }
    const { bounds } = this;
    const entry = series;
    return {
      observe(seconds) {
        entry.sum += seconds;
        entry.count++;
        for (let i = 0; i < bounds.length; i++) {
          if (seconds <= bounds[i]!) {
            entry.buckets[i]!++;
            break;
          }
        }
      },
    };
  }

  get(): MetricObjectWithValues<MetricValueWithName<string>> {
    const values: MetricValueWithName<string>[] = [];
    for (const [action, { buckets, sum, count }] of this.series) {
      let cumulative = 0;
      this.bounds.forEach((bound, i) => {
        cumulative += buckets[i]!;
        values.push({ metricName: `${this.name}_bucket`, labels: { le: bound, action }, value: cumulative });
      });
      values.push({ metricName: `${this.name}_bucket`, labels: { le: "+Inf", action }, value: count });
      values.push({ metricName: `${this.name}_sum`, labels: { action }, value: sum });
      values.push({ metricName: `${this.name}_count`, labels: { action }, value: count });
    }
    return {
      name: this.name,
      help: this.help,
      type: this.type as never,
      aggregator: this.aggregator,
      collect: () => {},
      values,
    };
  }
}
