import type { Completion } from "../store/types.js";

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
