import type { Outcome } from "@switchyard/core";
import type { ActionConfig } from "../config/schema.js";
import type { HostLogger } from "../logger.js";
import type { Metrics } from "../metrics.js";
import type { BreakerStore } from "../store/types.js";
import { BREAKER_GAUGE, type BreakerState, CircuitBreaker, verdictOf } from "./breaker.js";
import { type RateBuckets, RateGate, rateLimitOf, realTimers, type Timers } from "./rate-limit.js";

export interface PacingDeps {
  name: string;
  config: ActionConfig;
  /** Where the rate limit's tokens come from (shared by replicas on Postgres). */
  buckets: RateBuckets;
  /** Where the breaker's changes are recorded, for `actions list` and the other replicas' consoles. */
  breakers: BreakerStore;
  /** This host's replica id, which the records name. */
  replica: string;
  metrics: Metrics;
  log: HostLogger;
  /** Deliveries that waited may be able to start now: the runner looks at its queue again. */
  onReady: () => void;
  timers?: Timers;
}

/** What the console and `actions list` show of an action's pacing on this host. */
export interface PacingView {
  /** Deliveries are waiting for the rate limit's next token. */
  rateLimited: boolean;
  /** The breaker's state, when the action has one. */
  breaker?: BreakerState;
}

/**
 * One runner's pacing: its rate limit (rate-limit.ts) and its circuit breaker (breaker.ts), both optional,
 * behind one question the runner asks before it starts deliveries: how many may start now? Deliveries that
 * may not wait in the runner's bounded queue (and the rest in the store), in order; the gate wakes the runner
 * when they may go. It also keeps the action's current rate and waiting times for the metrics.
 */
export class Pacing {
  private rate: RateGate | undefined;
  private breaker: CircuitBreaker | undefined;
  private readonly timers: Timers;
  /** When each queued delivery of a paced action entered the queue (for the waiting-time metric). */
  private readonly queuedAt = new WeakMap<object, number>();
  /** Deliveries started in each of the last 10 seconds (the current-rate gauge). */
  private readonly perSecond = new Float64Array(RATE_WINDOW_S);
  private readonly second = new Float64Array(RATE_WINDOW_S);
  private readonly waitHistogram;
  private coolDownMs: number | undefined;
  /** The breaker's records, written one after the other so that the last change is the one kept. */
  private recording: Promise<void> = Promise.resolve();
  /** The state last recorded: a breaker that never opened writes nothing. */
  private recorded: BreakerState = "closed";
  private closed = false;

  constructor(private readonly deps: PacingDeps) {
    this.timers = deps.timers ?? realTimers;
    this.waitHistogram = deps.metrics.pacingWait.labels(deps.name);
    this.configure(deps.config);
    deps.metrics.trackPacing(deps.name, {
      rate: () => this.currentRate(),
      breaker: () => (this.breaker ? BREAKER_GAUGE[this.breaker.state] : undefined),
    });
  }

  /** Whether the action has a rate limit or a breaker. */
  get paced(): boolean {
    return this.rate !== undefined || this.breaker !== undefined;
  }

  /** Apply an action's (new) settings; a reload keeps the bucket and the breaker's state. */
  configure(config: ActionConfig): void {
    const { deps } = this;
    this.coolDownMs = config.circuitBreaker?.coolDownMs;
    if (config.rateLimit) {
      const limit = rateLimitOf(config.rateLimit);
      if (this.rate) this.rate.setLimit(limit);
      else
        this.rate = new RateGate(
          deps.name,
          limit,
          deps.buckets,
          deps.onReady,
          (error) =>
            deps.log.error(
              { action: deps.name, err: error },
              "could not take a token of the action's rate limit; its deliveries wait",
            ),
          this.timers,
        );
    } else {
      this.rate?.close();
      this.rate = undefined;
    }
    if (config.circuitBreaker) {
      if (this.breaker) this.breaker.setConfig(config.circuitBreaker);
      else
        this.breaker = new CircuitBreaker(
          config.circuitBreaker,
          deps.onReady,
          (state) => this.changed(state),
          this.timers,
        );
    } else {
      this.breaker?.dispose();
      this.breaker?.close();
      this.breaker = undefined;
    }
  }

  /** Of `want` deliveries ready to start, how many may start now (the rest wait for `onReady`). */
  allow(want: number): number {
    if (want <= 0) return 0;
    let n = want;
    if (this.breaker) n = Math.min(n, this.breaker.capacity());
    if (n > 0 && this.rate) n = this.rate.allow(n);
    return n;
  }

  /** A delivery entered the runner's queue. */
  queued(delivery: object): void {
    if (this.paced) this.queuedAt.set(delivery, this.timers.now());
  }

  /** A delivery starts. */
  started(delivery: object): void {
    const now = this.timers.now();
    const second = Math.floor(now / 1000);
    const slot = second % RATE_WINDOW_S;
    if (this.second[slot] !== second) {
      this.second[slot] = second;
      this.perSecond[slot] = 0;
    }
    this.perSecond[slot]!++;
    if (!this.paced) return;
    this.breaker?.started(delivery);
    const since = this.queuedAt.get(delivery);
    if (since !== undefined) {
      this.queuedAt.delete(delivery);
      this.waitHistogram.observe((now - since) / 1000);
    }
  }

  /**
   * A delivery that started is done: `outcome` is its attempt's, or undefined when it made none (stale,
   * shutdown), which tells the breaker nothing.
   */
  finished(delivery: object, outcome: Outcome | undefined): void {
    this.breaker?.finished(delivery, outcome ? verdictOf(outcome) : "neutral");
  }

  view(): PacingView {
    return {
      rateLimited: this.rate?.waiting ?? false,
      ...(this.breaker ? { breaker: this.breaker.state } : {}),
    };
  }

  /** Deliveries started per second over the last 10 s (this host's). */
  currentRate(): number {
    const now = Math.floor(this.timers.now() / 1000);
    let sum = 0;
    for (let i = 0; i < RATE_WINDOW_S; i++) {
      if (this.second[i]! > now - RATE_WINDOW_S) sum += this.perSecond[i]!;
    }
    return sum / RATE_WINDOW_S;
  }

  /**
   * The runner stops: no timer may wake it, and with no runner here its breaker is closed (its record is
   * removed). Resolves when the last record is written.
   */
  close(): Promise<void> {
    this.rate?.close();
    this.breaker?.dispose();
    this.record("closed");
    this.closed = true;
    return this.recording;
  }

  private changed(state: BreakerState): void {
    const { log, name } = this.deps;
    if (state === "open") {
      log.warn(
        { action: name, coolDownMs: this.coolDownMs },
        "circuit breaker opened: deliveries wait until a probe succeeds",
      );
    } else if (state === "closed") log.info({ action: name }, "circuit breaker closed: delivering again");
    else log.info({ action: name }, "circuit breaker half-open: one delivery probes");
    this.record(state);
  }

  /**
   * Record the breaker's new state in the store, off the delivery path: a failed write is logged, and the
   * next change writes the whole state again.
   */
  private record(state: BreakerState): void {
    if (this.closed || state === this.recorded) return;
    this.recorded = state;
    const { name: action, replica, breakers, log } = this.deps;
    const until = this.breaker?.until;
    const record =
      state === "closed"
        ? { action, replica, state }
        : {
            action,
            replica,
            state,
            since: this.breaker?.since ?? this.timers.now(),
            ...(until !== undefined ? { until } : {}),
          };
    this.recording = this.recording
      .then(() => breakers.setBreaker(record))
      .catch((error: unknown) =>
        log.warn({ action, err: error }, "could not record the circuit breaker's state in the store"),
      );
  }
}

const RATE_WINDOW_S = 10;
