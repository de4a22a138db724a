/**
 * Hands items to an async writer in groups: items submitted while a write is under way wait, and go
 * together in the next write (one transaction for many concurrent requests). Each submit resolves or rejects
 * with the write that carried its item. One write at a time.
 */
export class GroupCommit<T, R> {
  private queue: Array<{ item: T; resolve: (result: R) => void; reject: (error: unknown) => void }> = [];
  private writing = false;

  constructor(
    private readonly write: (items: T[]) => Promise<R>,
    private readonly maxItems: number,
  ) {}

  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.writing) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.writing = true;
    while (this.queue.length > 0) {
      const group = this.queue.splice(0, this.maxItems);
      try {
        const result = await this.write(group.map((entry) => entry.item));
        for (const entry of group) entry.resolve(result);
      } catch (error) {
        for (const entry of group) entry.reject(error);
      }
    }
    this.writing = false;
  }
}
