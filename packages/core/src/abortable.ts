/**
 * `work`, settled early with `onAbort()`'s error when `signal` aborts first. For clients whose own calls
 * take no signal, or take one only while a command waits to be written: the attempt ends on time, and the
 * client finishes or fails the abandoned call on its own (a broker plugin's publish is idempotent by id).
 */
export function abortable<T>(work: Promise<T>, signal: AbortSignal, onAbort: () => Error): Promise<T> {
  if (signal.aborted) {
    work.catch(() => {});
    return Promise.reject(onAbort());
  }
  return new Promise<T>((resolve, reject) => {
    const abort = () => {
      work.catch(() => {});
      reject(onAbort());
    };
    signal.addEventListener("abort", abort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener("abort", abort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", abort);
        reject(error);
      },
    );
  });
}
