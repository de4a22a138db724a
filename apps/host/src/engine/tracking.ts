import type { Completion, StateStore, Watermark } from "../store/types.js";
import type { Backlog } from "./backlog.js";

/**
 * # The delivery ledger: which deliveries a crash may forget, and why
 *
 * Words used here and in the store, one per idea:
 * - A **row** is a delivery written in the store's `deliveries` table: pending, in flight or dead.
 * - A **held** delivery is one the ingest step handed straight to its action's runner in memory, in the same
 *   moment it wrote the event. It has no row: the event's record lists the actions that hold it. Nearly every
 *   delivery is held, so nearly none costs a row write and a delete.
 * - A held delivery is **settled** once its result (delivered, retry, dead) is on its way to the store; a
 *   retry or a dead letter then gets a row, a delivered one never does.
 * - A held delivery still running after `ROW_AFTER_MS` is **given a row** (in flight), so that it no longer
 *   holds the watermark back.
 * - An action's **watermark** is an event key: every held delivery of that action for an event at or below it
 *   is settled or has a row. The store moves it in the same transaction as the results that justify it.
 * - A **claim** is the store marking due rows in flight for a runner (retries, backlog, replays). Claims are
 *   about rows only; held deliveries are never claimed.
 *
 * What a crash runs again: at the next start the store gives a row to every held delivery above its action's
 * watermark, and makes every in-flight row due again. That is at most the deliveries held in the last
 * `ROW_AFTER_MS` plus one completion flush (~5 ms), and the rows that were in flight: at least once, never
 * lost. A delivered result that had not reached the store yet is delivered again.
 *
 * This module keeps one action's held deliveries in key order and computes its watermark; it does no I/O.
 *
 * All of that is for a store whose `heldDeliveries` is `watermark` (SQLite). A store whose held deliveries
 * get a row at ingest (`row`: Postgres, shared by replicas) needs none of it: there every hold has its row
 * from the start, nothing is tracked, and no watermark is sent.
 */
export const ROW_AFTER_MS = 100;

const OPEN = 0; // held, unsettled, no row
const SETTLED = 1; // its result is recorded (or on its way to the store)
const ROW = 2; // given a row while still running

/** One held delivery, as the ledger tracks it (small: it must not keep the event alive). */
export interface Hold {
  readonly key: number;
  readonly at: number;
  /** The delivery's order key (ordered actions), which its row gets if it is given one. */
  readonly orderKey: string | null;
  state: typeof OPEN | typeof SETTLED | typeof ROW;
}

export class DeliveryLedger {
  /** Held deliveries in key order, until they settle or get a row. */
  private readonly holds: Hold[] = [];
  private head = 0;
  private open = 0;
  /** The newest event key the ingest step wrote (held by this action or not). */
  private ingestedUpto = 0;

  constructor(
    readonly action: string,
    /** How the store keeps held deliveries (`StateStore.heldDeliveries`). */
    readonly tracking: "watermark" | "row" = "watermark",
  ) {}

  /** Record a delivery held in memory for the event `key` (keys arrive in increasing order). */
  hold(key: number, now: number, orderKey: string | null = null): Hold {
    // The store wrote it a row at ingest: there is nothing to track.
    if (this.tracking === "row") return { key, at: now, orderKey, state: ROW };
    const hold: Hold = { key, at: now, orderKey, state: OPEN };
    this.holds.push(hold);
    this.open++;
    return hold;
  }

  /** The ingest step wrote events up to this key. */
  ingested(upto: number): void {
    if (upto > this.ingestedUpto) this.ingestedUpto = upto;
  }

  /**
   * The delivery's result is on its way to the store. Returns true when it never had a row (a delivered
   * result then writes nothing: the watermark covers it).
   */
  settle(hold: Hold | undefined): boolean {
    if (hold?.state !== OPEN) return false;
    hold.state = SETTLED;
    this.open--;
    return true;
  }

  /** Held deliveries that are unsettled and have no row: unfinished work the store does not count. */
  withoutRow(): number {
    return this.open;
  }

  /**
   * Run as results are sent to the store: give a row (an in-flight `running` result added to `out`) to each
   * held delivery older than ROW_AFTER_MS that is still unsettled, and return the watermark: the key below the
   * oldest held delivery that is neither settled nor has a row, or the newest ingested key when there is none.
   */
  checkpoint(now: number, out: Completion[]): number {
    const holds = this.holds;
    let head = this.head;
    for (; head < holds.length; head++) {
      const hold = holds[head]!;
      if (hold.state !== OPEN) continue;
      if (now - hold.at < ROW_AFTER_MS) break;
      hold.state = ROW;
      this.open--;
      // A held delivery is always on its first attempt.
      out.push({
        key: hold.key,
        action: this.action,
        result: "running",
        attempts: 0,
        ...(hold.orderKey !== null ? { orderKey: hold.orderKey } : {}),
      });
    }
    const upto = head < holds.length ? holds[head]!.key - 1 : this.ingestedUpto;
    if (head === holds.length) {
      holds.length = 0;
      head = 0;
    } else if (head > 1024 && head * 2 > holds.length) {
      holds.splice(0, head);
      head = 0;
    }
    this.head = head;
    return upto;
  }
}

// ## Writing results

/** How long results wait to share a transaction: a crash loses at most this much progress (redelivered). */
const FLUSH_MS = 5;

/** What the runners add to each flush, and hear of it. */
export interface FlushHooks {
  /**
   * Runs as a batch is sent: may add results (rows for long-running held deliveries) and returns the
   * watermarks this batch lets the store move (tracking.ts).
   */
  watermarks(out: Completion[]): Watermark[];
  /** The batch is written. */
  flushed(batch: readonly Completion[]): void;
}

/**
 * Batches attempt results into one store transaction every few milliseconds: one commit per result would
 * cap throughput far below what destinations accept. A result lost to a crash before its flush only means
 * the delivery runs again (at least once).
 */
export class CompletionWriter {
  private pending: Completion[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** The last flush sent to the store (flushes are written in order). */
  private last: Promise<void> = Promise.resolve();
  private hooks: FlushHooks = { watermarks: () => [], flushed: () => {} };

  /**
   * `onError` hears of a batch the store refused. Alone on its state (SQLite) that is the end: the host stops.
   * With `retry` (shared state, whose database can be restarted under it), writes go one at a time in order,
   * and a refused batch is kept and sent again a second later with what came after it.
   */
  constructor(
    private readonly store: StateStore,
    private readonly onError: (error: unknown) => void,
    private readonly options: { retry?: boolean; maxBatch?: number } = {},
  ) {}

  /** Connect the runners, once they exist (they are made with this writer). */
  attach(hooks: FlushHooks): void {
    this.hooks = hooks;
  }

  add(completion: Completion): void {
    this.pending.push(completion);
    if (this.pending.length >= (this.options.maxBatch ?? 512)) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), FLUSH_MS);
  }

  /** Send what is pending to the store; resolves when everything sent so far is written (or failed). */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return this.last;
    if (this.options.retry) {
      this.last = this.last.then(() => this.sendInOrder());
      return this.last;
    }
    const batch = this.pending;
    this.pending = [];
    const watermarks = this.hooks.watermarks(batch);
    this.last = this.store.complete(batch, watermarks).then(
      () => this.hooks.flushed(batch),
      (error: unknown) => this.onError(error),
    );
    return this.last;
  }

  private async sendInOrder(): Promise<void> {
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    try {
      await this.store.complete(batch, this.hooks.watermarks(batch));
    } catch (error) {
      this.pending = batch.concat(this.pending);
      this.onError(error);
      this.timer ??= setTimeout(() => void this.flush(), 1000);
      return;
    }
    this.hooks.flushed(batch);
  }
}

/** What the tracking needs of an action's runner (engine/runner.ts). */
export interface TrackedRunner {
  /** Rows for its held deliveries running long, added to `out`, and its watermark (none: the store needs none). */
  checkpoint(now: number, out: Completion[]): Watermark | undefined;
  /** A batch of results is written. */
  afterFlush(batch: readonly Completion[]): void;
}

/**
 * Connect the runners to the completion writer: each flush carries the watermarks of the runners whose store
 * keeps held deliveries without rows (and the rows of their held deliveries running long), and tells every
 * runner and the backlog what was written. `runners` is read at each flush: a reload changes it, and a
 * removed action's runner stays in it until its last results are written, so its watermark keeps moving.
 */
export function trackDeliveries(
  completions: CompletionWriter,
  backlog: Backlog,
  runners: () => Iterable<TrackedRunner>,
): void {
  completions.attach({
    watermarks: (out) => {
      const marks: Watermark[] = [];
      for (const runner of runners()) {
        const mark = runner.checkpoint(Date.now(), out);
        if (mark) marks.push(mark);
      }
      return marks;
    },
    flushed: (batch) => {
      backlog.finished(batch.filter((c) => c.result === "delivered" || c.result === "dead").length);
      for (const runner of runners()) runner.afterFlush(batch);
    },
  });
}
