/**
 * One ordered action's turns in memory: at most one delivery per order key is queued or running; the later
 * ones of that key wait here, in arrival order, until it finishes. With the store's rule (a row is claimable
 * only when no earlier row of its key is unfinished) this keeps a subject's events one at a time, in stream
 * order, whether they came from the ingest step (held) or from the store (claimed). Other keys never wait.
 */
export class KeyTurns<T> {
  /**
   * Keys with a delivery queued or running, and what waits behind it: null until something does (most keys
   * never have a second delivery waiting, so they get no array of their own).
   */
  private readonly turns = new Map<string, T[] | null>();
  /** Items waiting behind a key, all keys together (they count against the runner's room). */
  private waitingCount = 0;

  /** Keys holding a turn. */
  get size(): number {
    return this.turns.size;
  }

  /** Items waiting behind some key. */
  get waiting(): number {
    return this.waitingCount;
  }

  /** Whether a delivery of this key is queued or running. */
  busy(key: string): boolean {
    return this.turns.has(key);
  }

  /** True when the item takes the key's turn now; false when it waits behind the key's current one. */
  enter(key: string, item: T): boolean {
    const waiting = this.turns.get(key);
    if (waiting === undefined) {
      this.turns.set(key, null);
      return true;
    }
    if (waiting === null) this.turns.set(key, [item]);
    else waiting.push(item);
    this.waitingCount++;
    return false;
  }

  /** The key's current delivery is done: the next waiting item, which now holds the turn, if any. */
  next(key: string): T | undefined {
    const waiting = this.turns.get(key);
    const next = waiting?.shift();
    if (next === undefined) this.turns.delete(key);
    else this.waitingCount--;
    return next;
  }

  /** Give up the key's turn; returns what waited behind it (to be sent back to the store). */
  leave(key: string): T[] {
    const waiting = this.turns.get(key);
    this.turns.delete(key);
    if (!waiting) return [];
    this.waitingCount -= waiting.length;
    return waiting;
  }

  /** Everything waiting behind any key, removed; the keys' current deliveries keep their turns. */
  drainWaiting(): T[] {
    const all: T[] = [];
    for (const [key, waiting] of this.turns) {
      if (waiting === null) continue;
      all.push(...waiting);
      this.turns.set(key, null);
    }
    this.waitingCount = 0;
    return all;
  }
}
