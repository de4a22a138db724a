import { AsyncLocalStorage } from "node:async_hooks";
import type { FetchFunction } from "@slack/web-api";
import { Agent, fetch as undiciFetch } from "undici";

/** How `WebClient` reaches Slack: our own connection pool (closed by `close()`) and per-call abort signals. */
export interface Transport {
  fetch: FetchFunction;
  /** Run `call` so that its HTTP requests are aborted when `signal` is. */
  withSignal<T>(signal: AbortSignal, call: () => Promise<T>): Promise<T>;
  /** Release the pool's keep-alive sockets. */
  close(): Promise<void>;
}

/**
 * `WebClient` takes no per-call signal, so the delivery's signal travels through AsyncLocalStorage to the
 * fetch function. The client's request queue never holds a call back (no concurrency limit, rate-limited calls
 * rejected instead of pausing it), so each request starts inside the context of the call that made it.
 */
export function createTransport(): Transport {
  // Global fetch would park sockets in Node's shared pool, out of reach of close(): use a pool we own.
  const agent = new Agent({ keepAliveTimeout: 10_000, connections: 8 });
  const signals = new AsyncLocalStorage<AbortSignal>();
  let closing: Promise<void> | undefined;

  const fetch: FetchFunction = async (url, init = {}) => {
    const callSignal = signals.getStore();
    const parts = [init.signal, callSignal].filter((s): s is AbortSignal => s !== undefined);
    const signal = parts.length > 1 ? AbortSignal.any(parts) : parts[0];
    const response = await undiciFetch(url, {
      method: init.method,
      headers: init.headers,
      // chat.postMessage bodies are always url-encoded strings; FormData only appears for file uploads.
      body: init.body as string | undefined,
      redirect: init.redirect,
      signal,
      dispatcher: agent,
    });
    return response satisfies Awaited<ReturnType<FetchFunction>>;
  };

  return {
    fetch,
    withSignal: (signal, call) => signals.run(signal, call),
    close: () => {
      closing ??= agent.close();
      return closing;
    },
  };
}
