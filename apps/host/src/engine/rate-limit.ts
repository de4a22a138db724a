import type { RateBuckets, RateLimit, TokenGrant } from "../store/types.js";

/**
 * Rate limits: a token bucket per action. A delivery starts only with a token; tokens come back at `perSecond`
 * and the bucket holds at most `burst`, so over any window of T seconds an action starts at most
 * `burst + perSecond × T` deliveries. With shared state (Postgres) the bucket is one row that every replica
 * takes from in one atomic statement, refilled by the database's clock: the budget is shared, not
 * multiplied, and neither a replica that dies nor one whose clock is off changes it (docs/pacing.md).
 */

export type { RateBuckets, RateLimit, TokenGrant };

/** The limit a config states (`perSecond` or `perMinute`, and `burst`), in tokens per second. */
export function rateLimitOf(config: {
  perSecond?: number | undefined;
  perMinute?: number | undefined;
  burst: number;
}): RateLimit {
  const perSecond = config.perSecond ?? (config.perMinute ?? 0) / 60;
  return { perSecond, burst: config.burst };
}

/** One bucket refilled for `elapsedMs` and taken from: the tokens left, and the grant. */
export function takeTokens(
  tokens: number,
  elapsedMs: number,
  limit: RateLimit,
  want: number,
): { left: number; grant: TokenGrant } {
  // A clock that steps back refills nothing (it never takes tokens away either).
  const available = Math.min(limit.burst, tokens + (Math.max(0, elapsedMs) / 1000) * limit.perSecond);
  // A hair of slack: 0.1 + 0.2 refills must make a whole token, not 0.9999999.
  const granted = Math.max(0, Math.min(Math.floor(want), Math.floor(available + 1e-9)));
  const left = Math.max(0, available - granted);
  return { left, grant: { granted, waitMs: granted < want ? waitFor(left, limit) : 0 } };
}

/** Milliseconds until a bucket holding `tokens` (less than one) holds one. */
export function waitFor(tokens: number, limit: RateLimit): number {
  return Math.max(1, Math.ceil(((1 - Math.min(1, tokens)) * 1000) / limit.perSecond));
}

/**
 * Buckets in this process: enough for one host on its own state (SQLite), where no other process delivers.
 * A bucket starts full.
 */
export class LocalBuckets implements RateBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  take(action: string, limit: RateLimit, want: number): Promise<TokenGrant> {
    const now = this.now();
    const bucket = this.buckets.get(action) ?? { tokens: limit.burst, at: now };
    const { left, grant } = takeTokens(bucket.tokens, now - bucket.at, limit, want);
    this.buckets.set(action, { tokens: left, at: now });
    return Promise.resolve(grant);
  }
}

/** The clock and timer the pacing modules use, so tests can drive them. */
export interface Timers {
  now(): number;
  /** Run `fn` after `ms`; returns a function that cancels it. */
  after(ms: number, fn: () => void): () => void;
}

export const realTimers: Timers = {
  now: Date.now,
  after(ms, fn) {
    const timer = setTimeout(fn, ms);
    timer.unref();
    return () => clearTimeout(timer);
  },
};

/**
 * One action's rate gate in its runner. `allow(want)` says how many of the deliveries ready to start may start
 * now; when it says fewer than wanted, it has already arranged `onReady` for when a token may be there (one
 * timer to the next token, never a poll). Tokens are taken only for deliveries that can start at once, and a
 * grant not used at once lapses: a token kept for later could be spent in a window it was not counted in.
 */
export class RateGate {
  private granted = 0;
  private asking = false;
  private cancelWait: (() => void) | undefined;
  private closed = false;

  constructor(
    private readonly action: string,
    private limit: RateLimit,
    private readonly buckets: RateBuckets,
    private readonly onReady: () => void,
    private readonly onError: (error: unknown) => void,
    private readonly timers: Timers = realTimers,
  ) {}

  /** Deliveries are waiting for a token (or for the bucket's answer). */
  get waiting(): boolean {
    return this.asking || this.cancelWait !== undefined;
  }

  setLimit(limit: RateLimit): void {
    this.limit = limit;
  }

  allow(want: number): number {
    if (want <= 0 || this.closed) return 0;
    if (this.granted > 0) {
      const n = Math.min(want, this.granted);
      this.granted -= n;
      return n;
    }
    if (!this.waiting) this.ask(want);
    return 0;
  }

  close(): void {
    this.closed = true;
    this.cancelWait?.();
    this.cancelWait = undefined;
  }

  private ask(want: number): void {
    this.asking = true;
    const askedAt = this.timers.now();
    this.buckets.take(this.action, this.limit, want).then(
      ({ granted, waitMs }) => {
        this.asking = false;
        if (this.closed) return;
        // Fewer than wanted: the rest wait for the next token (set before onReady, which asks no more). The
        // wait counts from when the bucket answered, about when it was asked: the next take then reaches it as
        // the token is due rather than a round trip later (with `burst: 1`, lateness is budget lost). Asking
        // early costs one more take, never a token too many: the bucket alone grants them.
        if (granted < want) this.wait(waitMs - (this.timers.now() - askedAt));
        if (granted > 0) {
          this.granted = granted;
          this.onReady();
          this.granted = 0;
        }
      },
      (error: unknown) => {
        this.asking = false;
        if (this.closed) return;
        // Without a token nothing is sent: the limit holds even while the store cannot answer.
        this.onError(error);
        this.wait(1000);
      },
    );
  }

  private wait(ms: number): void {
    this.cancelWait?.();
    this.cancelWait = this.timers.after(Math.max(1, ms), () => {
      this.cancelWait = undefined;
      this.onReady();
    });
  }
}
