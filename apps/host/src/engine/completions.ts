import type { Completion, Store } from "../store/types.js";

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

  constructor(
    private readonly store: Store,
    private readonly onFlushed: (completions: readonly Completion[]) => void,
    private readonly onError: (error: unknown) => void,
    private readonly maxBatch = 512,
  ) {}

  add(completion: Completion): void {
    this.pending.push(completion);
    if (this.pending.length >= this.maxBatch) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), FLUSH_MS);
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    try {
      this.store.complete(batch);
    } catch (error) {
      this.onError(error);
      return;
    }
    this.onFlushed(batch);
  }
}
