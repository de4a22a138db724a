import type { Completion, HostStore, Watermark } from "../store/types.js";

/** How long results wait to share a transaction: a crash loses at most this much progress (redelivered). */
const FLUSH_MS = 5;

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

  /**
   * `checkpoint` runs as each batch is sent: it may add results (rows for long-running claimed deliveries)
   * and returns the watermarks that this batch's results let the store move.
   */
  constructor(
    private readonly store: HostStore,
    private readonly onFlushed: (completions: readonly Completion[]) => void,
    private readonly onError: (error: unknown) => void,
    private readonly checkpoint: (out: Completion[]) => Watermark[] = () => [],
    private readonly maxBatch = 512,
  ) {}

  add(completion: Completion): void {
    this.pending.push(completion);
    if (this.pending.length >= this.maxBatch) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), FLUSH_MS);
  }

  /** Send what is pending to the store; resolves when everything sent so far is written (or failed). */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return this.last;
    const batch = this.pending;
    this.pending = [];
    const watermarks = this.checkpoint(batch);
    this.last = this.store.complete(batch, watermarks).then(
      () => this.onFlushed(batch),
      (error: unknown) => this.onError(error),
    );
    return this.last;
  }
}
