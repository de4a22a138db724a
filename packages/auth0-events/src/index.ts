import { resolveOptions, type StreamItem, type StreamOptions } from "./options.js";
import { run } from "./stream.js";

export { StreamError } from "./errors.js";
export type { StreamHooks, StreamItem, StreamOptions } from "./options.js";
export { resolveDomain } from "./options.js";

/**
 * The items of the Auth0 event stream, one by one, forever: reconnects, resumes from the last offset and
 * renews tokens by itself. Throws a StreamError on terminal failures; returns (no throw) when `signal` aborts.
 */
export function stream(options: StreamOptions): AsyncIterable<StreamItem> {
  const batches = streamBatches(options);
  return { [Symbol.asyncIterator]: () => flatten(batches[Symbol.asyncIterator]()) };
}

/**
 * The same items, grouped as they arrived from one socket read (non-empty arrays), so that a consumer can
 * write each group in one database transaction.
 */
export function streamBatches(options: StreamOptions): AsyncIterable<StreamItem[]> {
  const resolved = resolveOptions(options);
  return { [Symbol.asyncIterator]: () => run(resolved) };
}

// A hand-written iterator rather than an async generator: handing out an item of the current batch then
// costs one resolved promise instead of a generator resumption, which matters at 100k+ items per second.
function flatten(batches: AsyncIterator<StreamItem[], void>): AsyncIterableIterator<StreamItem> {
  let batch: StreamItem[] = [];
  let index = 0;
  const iterator: AsyncIterableIterator<StreamItem> = {
    next() {
      if (index < batch.length) return Promise.resolve({ done: false, value: batch[index++] as StreamItem });
      return batches.next().then((result) => {
        if (result.done) return { done: true, value: undefined };
        batch = result.value;
        index = 1;
        return { done: false, value: batch[0] as StreamItem };
      });
    },
    async return() {
      batch = [];
      await batches.return?.();
      return { done: true, value: undefined };
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
