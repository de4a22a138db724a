/** How a plugin sends its coalesced calls; see `createBatcher`. */
export interface BatcherOptions<Item, Result> {
  /** Most items in one batch (10 for EventBridge `PutEvents` and SQS `SendMessageBatch`). */
  maxItems: number;
  /** Most bytes in one batch, as counted by `sizeOf` (256 KB for both AWS calls). */
  maxBytes?: number;
  sizeOf?: (item: Item) => number;
  /**
   * Most batches under way at once (e.g. the connection pool's size). While that many are out, new items wait
   * and go together when one comes back: calls that trickle in one by one still make full batches under load.
   */
  maxInFlight?: number;
  /**
   * Send one batch. Answer one settlement per item, in the items' order: its result, or the Error that fails
   * that item alone. Throwing fails every item of the batch.
   */
  send(items: Item[]): Promise<Array<Result | Error>>;
}

/** Coalesces concurrent calls into batches; each call settles with its own item's outcome. */
export interface Batcher<Item, Result> {
  /**
   * Queue `item` for the next batch. If `signal` aborts while the item still waits, it leaves the queue (it is
   * never sent) and the call rejects with `aborted()`; once sent, the call waits for the batch's answer.
   */
  add(item: Item, signal?: AbortSignal, aborted?: () => Error): Promise<Result>;
  /** Items queued and not yet sent. */
  readonly queued: number;
}

interface Waiting<Item, Result> {
  item: Item;
  size: number;
  resolve(result: Result): void;
  reject(error: unknown): void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/**
 * The host calls an action once per event, `concurrency` calls at a time; a destination with a batch API
 * takes up to N items per request. Calls made in the same turn of the event loop go out together: a batch is
 * sent as soon as it is full, and what is left at the end of the turn (`setImmediate`) goes out then, so a
 * lone call never waits for company. Batches are sent concurrently, up to `maxInFlight`; beyond it, items wait
 * for a batch to come back and then leave together.
 */
export function createBatcher<Item, Result>(options: BatcherOptions<Item, Result>): Batcher<Item, Result> {
  const maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
  const sizeOf = options.sizeOf ?? (() => 0);
  const queue: Array<Waiting<Item, Result>> = [];
  let queuedBytes = 0;
  const maxInFlight = options.maxInFlight ?? Number.POSITIVE_INFINITY;
  let scheduled = false;
  let inFlight = 0;

  function flush(): void {
    scheduled = false;
    while (queue.length > 0 && inFlight < maxInFlight) {
      let count = 0;
      let bytes = 0;
      for (const waiting of queue) {
        if (count > 0 && (count >= options.maxItems || bytes + waiting.size > maxBytes)) break;
        count += 1;
        bytes += waiting.size;
      }
      const batch = queue.splice(0, count);
      queuedBytes -= bytes;
      sendBatch(batch);
    }
  }

  function sendBatch(batch: Array<Waiting<Item, Result>>): void {
    for (const waiting of batch) {
      if (waiting.onAbort) waiting.signal?.removeEventListener("abort", waiting.onAbort);
    }
    inFlight += 1;
    let sending: Promise<Array<Result | Error>>;
    try {
      sending = options.send(batch.map((waiting) => waiting.item));
    } catch (error) {
      sending = Promise.reject(error);
    }
    sending.then(
      (settlements) => {
        batch.forEach((waiting, index) => {
          const settlement = settlements[index];
          if (settlement instanceof Error) waiting.reject(settlement);
          else if (index < settlements.length) waiting.resolve(settlement as Result);
          else waiting.reject(new Error(`the batch answered ${settlements.length} of ${batch.length} items`));
        });
      },
      (error: unknown) => {
        for (const waiting of batch) waiting.reject(error);
      },
    );
    // What queued meanwhile goes out as soon as this batch is back: by then it is a fuller batch.
    sending
      .catch(() => {})
      .finally(() => {
        inFlight -= 1;
        if (queue.length > 0) flush();
      });
  }

  return {
    add(item, signal, aborted) {
      return new Promise<Result>((resolve, reject) => {
        if (signal?.aborted) {
          reject(aborted?.() ?? signal.reason);
          return;
        }
        const waiting: Waiting<Item, Result> = {
          item,
          size: sizeOf(item),
          resolve,
          reject,
          signal,
          onAbort: undefined,
        };
        if (signal) {
          waiting.onAbort = () => {
            const index = queue.indexOf(waiting);
            if (index < 0) return;
            queue.splice(index, 1);
            queuedBytes -= waiting.size;
            reject(aborted?.() ?? signal.reason);
          };
          signal.addEventListener("abort", waiting.onAbort, { once: true });
        }
        queue.push(waiting);
        queuedBytes += waiting.size;
        if (queue.length >= options.maxItems || queuedBytes >= maxBytes) flush();
        else if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      });
    },
    get queued() {
      return queue.length;
    },
  };
}
