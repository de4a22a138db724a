import type { Outcome } from "@switchyard/core";
import { realTimers, type Timers } from "./rate-limit.js";

/** An action's circuit breaker settings. */
export interface BreakerConfig {
  /** Consecutive faults (no answer, a timeout, a 5xx) that open the breaker. */
  failures: number;
  /** How long an open breaker lets nothing through before one delivery probes. */
  coolDownMs: number;
}

/** `closed`: deliveries run; `open`: none do until the cool-down ends; `half-open`: one probes. */
export type BreakerState = "closed" | "open" | "half-open";

/** What an attempt says about the destination: it answered (`ok`), it did not or failed (`fault`), or neither. */
export type Verdict = "ok" | "fault" | "neutral";

/**
 * A fault is what a struggling destination does: an answer of 5xx, or a retryable failure that carries no
 * HTTP status (a connection refused or reset, a timeout: the destination never answered). Any other answer
 * (2xx, a 4xx, a 429 whose Retry-After the runner honours) shows it alive. A permanent failure without a
 * status (the action refused the event itself) says nothing about the destination.
 */
export function verdictOf(outcome: Outcome): Verdict {
  if (outcome.status === "delivered") return "ok";
  const status = (outcome.error as { status?: unknown } | null | undefined)?.status;
  if (typeof status === "number") return status >= 500 ? "fault" : "ok";
  return outcome.status === "retryable" ? "fault" : "neutral";
}

/** The breaker state as the metric reports it. */
export const BREAKER_GAUGE: Record<BreakerState, number> = { closed: 0, open: 1, "half-open": 2 };

/**
 * One action's circuit breaker in one runner (each replica keeps its own). After `failures` consecutive
 * faults it opens: nothing starts for `coolDownMs`, and the deliveries wait in the queue and the store with
 * their attempt counts untouched. Then it lets one delivery through (half-open): its success closes the
 * breaker, its fault opens it again for another cool-down. Auto-pause still counts the failed attempts (the
 * probes), so an action whose destination never comes back is paused as before.
 */
export class CircuitBreaker {
  private current: BreakerState = "closed";
  private faults = 0;
  private openUntil = 0;
  /** When it entered its current state (epoch ms, by its timers' clock). */
  private changedAt = 0;
  /** The delivery probing while half-open. */
  private probe: object | undefined;
  private cancelCoolDown: (() => void) | undefined;

  constructor(
    private config: BreakerConfig,
    private readonly onReady: () => void,
    private readonly onChange: (state: BreakerState) => void = () => {},
    private readonly timers: Timers = realTimers,
  ) {}

  get state(): BreakerState {
    // A breaker whose cool-down is over reads as half-open even before a delivery asks to start.
    if (this.current === "open" && this.timers.now() >= this.openUntil) return "half-open";
    return this.current;
  }

  /** When it entered its current state: an open breaker's cool-down runs from here to `until`. */
  get since(): number {
    return this.changedAt;
  }

  /** While open: when its cool-down ends (epoch ms, by its timers' clock). */
  get until(): number | undefined {
    return this.current === "open" ? this.openUntil : undefined;
  }

  setConfig(config: BreakerConfig): void {
    this.config = config;
  }

  /** How many deliveries may start now: any number while closed, one probe after a cool-down, else none. */
  capacity(): number {
    if (this.current === "closed") return Number.POSITIVE_INFINITY;
    if (this.current === "open") {
      if (this.timers.now() < this.openUntil) return 0;
      this.move("half-open");
    }
    return this.probe === undefined ? 1 : 0;
  }

  /** A delivery starts (after `capacity` allowed it). */
  started(delivery: object): void {
    if (this.current === "half-open" && this.probe === undefined) this.probe = delivery;
  }

  /** A delivery that started finished with this verdict. */
  finished(delivery: object, verdict: Verdict): void {
    if (delivery === this.probe) {
      this.probe = undefined;
      if (verdict === "ok") this.close();
      else if (verdict === "fault") this.open();
      // Neutral: still not known; the next delivery probes.
      else this.onReady();
      return;
    }
    if (verdict === "ok") {
      // An attempt started before the breaker opened got an answer: the destination is back.
      this.close();
    } else if (verdict === "fault" && this.current === "closed") {
      if (++this.faults >= this.config.failures) this.open();
    }
  }

  close(): void {
    this.cancelCoolDown?.();
    this.cancelCoolDown = undefined;
    this.faults = 0;
    this.probe = undefined;
    if (this.current !== "closed") {
      this.move("closed");
      this.onReady();
    }
  }

  private open(): void {
    this.faults = 0;
    const now = this.timers.now();
    this.openUntil = now + this.config.coolDownMs;
    this.move("open", now);
    this.cancelCoolDown?.();
    this.cancelCoolDown = this.timers.after(this.config.coolDownMs, () => {
      this.cancelCoolDown = undefined;
      this.onReady();
    });
  }

  private move(state: BreakerState, at = this.timers.now()): void {
    if (this.current === state) return;
    this.current = state;
    this.changedAt = at;
    this.onChange(state);
  }

  /** Stop its timer (the runner stops). */
  dispose(): void {
    this.cancelCoolDown?.();
    this.cancelCoolDown = undefined;
  }
}
