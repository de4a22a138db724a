import {
  type Action,
  definePlugin,
  eventJson,
  eventJsonBytes,
  PermanentError,
  parseRetryAfter,
  RetryableError,
} from "@switchyard/core";
import { Webhook } from "standardwebhooks";
import { type Dispatcher, Pool } from "undici";
import { httpOptions, type ResolvedHttpOptions } from "./options.js";

export type { HttpOptions, ResolvedHttpOptions } from "./options.js";
export { httpOptions } from "./options.js";

const PREFIX = "[switchyard] [http]";

/**
 * POST each event, as its CloudEvent JSON, to `url`, signed with Standard Webhooks when a `secret` is set.
 * 2xx is delivered; 408, 429, 5xx, network errors and timeouts are retried; 410 and other 4xx are permanent.
 */
const http = definePlugin({ name: "http", options: httpOptions, create: createHttpAction });
export default http;

function createHttpAction(options: ResolvedHttpOptions): Action {
  const url = new URL(options.url);
  const path = `${url.pathname}${url.search}`;
  const where = `${options.method} to ${url.host}`;
  const signers = (options.secret === undefined ? [] : [options.secret].flat()).map((s) => new Webhook(s));
  // undici takes a flat [name, value, …] array as is: no per-request object to copy or normalise.
  const fixedHeaders = ["content-type", "application/json", "user-agent", "switchyard"];
  for (const [name, value] of Object.entries(options.headers)) fixedHeaders.push(name.toLowerCase(), value);
  const pool = new Pool(url.origin, {
    connections: options.connections,
    connectTimeout: options.timeoutMs,
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
  });
  let closing: Promise<void> | undefined;

  return {
    async onExecuteEventStream(event, api) {
      const message = event.message;
      const sentAt = Date.now();
      const headers = [
        ...fixedHeaders,
        "webhook-id",
        message.id,
        "webhook-timestamp",
        String(Math.floor(sentAt / 1000)),
      ];
      if (signers.length > 0) {
        const text = eventJson(message);
        const at = new Date(sentAt);
        headers.push("webhook-signature", signers.map((s) => s.sign(message.id, at, text)).join(" "));
      }
      // The same bytes for every action that sends this event.
      const body = eventJsonBytes(message);

      let status: number;
      let retryAfter: string | string[] | undefined;
      try {
        // The host's signal aborts the request; timeoutMs is enforced by the pool's own timers. A
        // controller and a timer per request would cost ~10% of the throughput on this hot path.
        ({ status, retryAfter } = await send(
          pool,
          { path, method: options.method, headers, body },
          api.signal,
        ));
      } catch (error) {
        if (api.signal.aborted) throw new RetryableError(`${PREFIX} ${where}: aborted by the host`);
        const code = errorCode(error);
        if (TIMEOUT_CODES.has(code)) {
          throw new RetryableError(
            `${PREFIX} ${where}: no response within ${options.timeoutMs} ms (${code})`,
          );
        }
        throw new RetryableError(`${PREFIX} ${where} failed: ${code}`, { cause: error });
      }

      if (status >= 200 && status < 300) {
        api.log.debug(`${PREFIX} delivered`, { status });
        return;
      }
      const answered = `${PREFIX} ${where} answered ${status}`;
      if (status === 408 || status === 429 || status >= 500) {
        const header = Array.isArray(retryAfter) ? retryAfter[0] : retryAfter;
        throw new RetryableError(answered, { retryAfterMs: parseRetryAfter(header) });
      }
      if (status === 410) throw new PermanentError(`${answered} (Gone): the receiver asks to stop sending`);
      if (status >= 300 && status < 400) throw new PermanentError(`${answered}: redirects are not followed`);
      throw new PermanentError(answered);
    },

    close() {
      // close() lets requests in flight finish (each is bounded by timeoutMs); destroy() is the fallback.
      closing ??= pool.close().catch(() => pool.destroy());
      return closing;
    },
  };
}

const TIMEOUT_CODES = new Set(["UND_ERR_CONNECT_TIMEOUT", "UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT"]);

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string") return code;
  return error instanceof Error ? error.name : "unknown error";
}

interface Answer {
  status: number;
  retryAfter: string | string[] | undefined;
}

/**
 * One request through undici's dispatch API, reading only the status and Retry-After and discarding the
 * body: no response stream and no promise chain per request, which saves about a sixth of undici's CPU per
 * request (measured: ~35 -> ~29 µs against a local receiver).
 */
function send(pool: Pool, request: Dispatcher.DispatchOptions, signal: AbortSignal): Promise<Answer> {
  return new Promise((resolve, reject) => {
    pool.dispatch(request, new AnswerHandler(signal, resolve, reject));
  });
}

/** The handler of one request: one object, its methods shared, not a closure per callback. */
class AnswerHandler implements Dispatcher.DispatchHandler {
  private started: Dispatcher.DispatchController | undefined;
  private readonly answer: Answer = { status: 0, retryAfter: undefined };

  constructor(
    private readonly signal: AbortSignal,
    private readonly resolve: (answer: Answer) => void,
    private readonly reject: (error: Error) => void,
  ) {}

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.started = controller;
    // Aborted while the request waited for a connection.
    if (this.signal.aborted) controller.abort(abortReason(this.signal));
    else requestsOn(this.signal).add(controller);
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    this.answer.status = statusCode;
    this.answer.retryAfter = headers["retry-after"];
  }

  onResponseData(): void {}

  onResponseEnd(): void {
    this.finished();
    this.resolve(this.answer);
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.finished();
    this.reject(error);
  }

  private finished(): void {
    if (this.started) underSignal.get(this.signal)?.delete(this.started);
  }
}

/**
 * The requests in flight under each abort signal, with one listener per signal that aborts them all: the
 * host shares one signal among the attempts that start together, and a listener per request (added and
 * removed on an EventTarget) cost more than the rest of this function.
 */
const underSignal = new WeakMap<AbortSignal, Set<Dispatcher.DispatchController>>();

function requestsOn(signal: AbortSignal): Set<Dispatcher.DispatchController> {
  let requests = underSignal.get(signal);
  if (!requests) {
    const set = new Set<Dispatcher.DispatchController>();
    requests = set;
    underSignal.set(signal, set);
    signal.addEventListener(
      "abort",
      () => {
        for (const controller of set) controller.abort(abortReason(signal));
        set.clear();
      },
      { once: true },
    );
  }
  return requests;
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error("aborted");
}
