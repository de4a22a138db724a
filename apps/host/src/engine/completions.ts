import type { Completion, StateStore, Watermark } from "../store/types.js";

/** How long results wait to share a transaction: a crash loses at most this much progress (redelivered). */
const FLUSH_MS = 5;

/** What the runners add to each flush, and hear of it. */
export interface FlushHooks {
  /**
   * Runs as a batch is sent: may add results (rows for long-running held deliveries) and returns the
   * watermarks this batch lets the store move (ledger.ts).
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
