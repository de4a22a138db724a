/**
 * The count of unfinished deliveries (rows pending or in flight, plus held deliveries without a row), and the
 * store's cap on it: the stream pauses only when the whole backlog reaches `cap`, never because one action is
 * slow or failing (its deliveries wait in the store while the others keep going).
 */
export class Backlog {
  private count = 0;
  private waiters: Array<() => void> = [];

  constructor(readonly cap: number) {}

  get unfinished(): number {
    return this.count;
  }

  /** New deliveries were written (rows or held). */
  added(n: number): void {
    this.count += n;
  }

  /** Deliveries finished (delivered, dead-lettered or purged). */
  finished(n: number): void {
    this.count = Math.max(0, this.count - n);
    this.wake();
  }

  /** The exact count, recounted from the store and the runners (pruning, start). */
  reset(n: number): void {
    this.count = n;
    this.wake();
  }

  full(): boolean {
    return this.count >= this.cap;
  }

  /** Resolves once the backlog is below 90% of the cap (or at once when it is not full), or on `signal`. */
  async room(signal: AbortSignal): Promise<void> {
    while (this.full() && !signal.aborted) {
      await new Promise<void>((resolve) => {
        const done = () => {
          signal.removeEventListener("abort", done);
          resolve();
        };
        this.waiters.push(done);
        signal.addEventListener("abort", done, { once: true });
      });
    }
  }

  /** Wake the waiters once there is a tenth of the cap free again (hysteresis: no pause per event). */
  private wake(): void {
    if (this.waiters.length === 0 || this.count >= this.cap * 0.9) return;
    for (const resolve of this.waiters.splice(0)) resolve();
  }
}
