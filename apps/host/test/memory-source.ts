import type { StreamHooks, StreamItem } from "@switchyard/auth0-events";
import type { Auth0Event } from "@switchyard/core";
import type { EventSource } from "../src/sources/auth0-stream.js";

/** An in-memory event stream for in-process host tests: resumes after the cursor, as the real one does. */
export function memorySource() {
  const log: StreamItem[] = [];
  const waiters = new Set<() => void>();
  let connects = 0;
  const source: EventSource & { push(...events: Auth0Event[]): void; heartbeat(): void; connects(): number } =
    {
      describe: "memory",
      push(...events) {
        for (const event of events)
          log.push({ kind: "event", offset: `o${log.length + 1}`, event, json: JSON.stringify(event) });
        for (const wake of waiters) wake();
      },
      heartbeat() {
        log.push({ kind: "offset", offset: `o${log.length + 1}` });
        for (const wake of waiters) wake();
      },
      connects: () => connects,
      async *batches(cursor: string | undefined, signal: AbortSignal, hooks: StreamHooks) {
        connects++;
        hooks.onConnect?.({ attempt: 1 });
        let next = cursor ? Number(cursor.slice(1)) : 0;
        while (!signal.aborted) {
          if (next < log.length) {
            const batch = log.slice(next, next + 100);
            next += batch.length;
            yield batch;
            continue;
          }
          await new Promise<void>((resolve) => {
            const wake = () => {
              waiters.delete(wake);
              signal.removeEventListener("abort", wake);
              resolve();
            };
            waiters.add(wake);
            signal.addEventListener("abort", wake, { once: true });
          });
        }
      },
    };
  return source;
}
