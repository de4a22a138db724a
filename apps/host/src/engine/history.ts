import type { HostLogger } from "../logger.js";
import type { AttemptRecord, StateStore } from "../store/types.js";

/** How long attempts wait to share a write: the console shows them this much later, at most. */
const FLUSH_MS = 250;
/** The most records one write carries. */
const MAX_BATCH = 1_000;
/**
 * The most records kept waiting while the store is slow or away. The history is for people looking at
 * what happened; deliveries never wait for it, so past this bound new records are dropped and counted.
 */
const MAX_WAITING = 100_000;

/**
 * Writes the delivery history: every attempt, in batches, off the delivery path. A record costs the runner
 * one array push; the store write happens here, a few times a second, in its own transaction. A failed
 * write is logged and its records dropped (counted through `onDropped`): losing history never holds up or
 * endangers a delivery, whose own state is written by the CompletionWriter.
 */
export class HistoryWriter {
  private waiting: AttemptRecord[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Pick<StateStore, "recordAttempts">,
    private readonly log: HostLogger,
    /** Hears of records not written (the store refused them, or too many waited): the host counts them. */
    private readonly onDropped: (count: number) => void = () => {},
  ) {}

  add(record: AttemptRecord): void {
    if (this.waiting.length >= MAX_WAITING) {
      this.onDropped(1);
      return;
    }
    this.waiting.push(record);
    this.timer ??= setTimeout(() => void this.flush(), FLUSH_MS);
  }

  /** Write everything waiting; resolves when it is written (or dropped). */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.writing = this.writing.then(async () => {
      while (this.waiting.length > 0) {
        const batch = this.waiting.splice(0, MAX_BATCH);
        try {
          await this.store.recordAttempts(batch);
        } catch (error) {
          this.onDropped(batch.length);
          this.log.warn(
            { err: error, records: batch.length },
            "delivery history not written to the state store (deliveries are not affected)",
          );
        }
      }
    });
    return this.writing;
  }
}
