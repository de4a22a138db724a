import {
  type Action,
  type DeliveryReceipt,
  definePlugin,
  encodedEvent,
  errorPrefix,
  httpStatusError,
  RetryableError,
} from "@switchyard/core";
import { Webhook } from "standardwebhooks";
import { type Dispatcher, Pool } from "undici";
import { httpOptions, type ResolvedHttpOptions } from "./options.js";

export type { HttpOptions, ResolvedHttpOptions } from "./options.js";
export { httpOptions } from "./options.js";

const PREFIX = errorPrefix("http");

/**
 * POST each event, as its CloudEvent JSON, to `url`, signed with Standard Webhooks when a `secret` is set.
 * Statuses follow core's `classifyHttpStatus`: 2xx is delivered; 408, 409, 425, 429 and 5xx are retried (after
 * `Retry-After` when given), as are network errors and timeouts; 3xx, 410 and other 4xx are permanent.
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
      // The host encodes each event once for every action that sends it (Auth0's own JSON text); without
      // that (a test, another runner), encode it here. The signature covers exactly the bytes sent.
      const encoded = event.encoded ?? encodedEvent(JSON.stringify(message));
      const sentAt = Date.now();
      const headers = [
        ...fixedHeaders,
        "webhook-id",
        message.id,
        "webhook-timestamp",
        String(Math.floor(sentAt / 1000)),
      ];
      // The host's trace context of this attempt, so the receiver's trace continues it (W3C Trace Context).
      const trace = api.trace;
      if (trace) {
        headers.push("traceparent", trace.traceparent);
        if (trace.tracestate) headers.push("tracestate", trace.tracestate);
      }
      if (signers.length > 0) {
        const at = new Date(sentAt);
        headers.push("webhook-signature", signers.map((s) => s.sign(message.id, at, encoded.json)).join(" "));
      }

      let answer: Answer;
      try {
        // api.signal aborts the request; timeoutMs is enforced by the pool's own timers. A controller and a
        // timer per request would cost ~10% of the throughput on this hot path.
        answer = await send(pool, { path, method: options.method, headers, body: encoded.bytes }, api.signal);
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

      // Names the method, the host and the status: never the path, the query or a header value.
      const failure = httpStatusError(answer.status, `${PREFIX} ${where} answered ${answer.status}`, {
        retryAfter: answer.retryAfter,
      });
      if (failure) throw failure;
      api.log.debug(`${PREFIX} delivered`, { status: answer.status });
      // The host records it with the delivered attempt (the delivery history, the console).
      return { status: answer.status } satisfies DeliveryReceipt;
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
 * body: no response stream and no promise chain per request. Measured against a local receiver, 16 requests
 * at a time: ~32 µs of CPU per request, against ~49 µs for `pool.request({ signal })` and `body.dump()`.
 */
function send(pool: Pool, request: Dispatcher.DispatchOptions, signal: AbortSignal): Promise<Answer> {
  return new Promise((resolve, reject) => {
    pool.dispatch(request, new AnswerHandler(signal, resolve, reject));
  });
}

/**
 * The handler of one request, and the listener that aborts it when `signal` aborts: one object per request,
 * its methods shared, not a closure per callback. It listens from the request's start to its end only (on a
 * signal the host shares among attempts, this measured within ~1 µs of one listener per signal).
 */
class AnswerHandler implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined;
  private readonly answer: Answer = { status: 0, retryAfter: undefined };

  constructor(
    private readonly signal: AbortSignal,
    private readonly resolve: (answer: Answer) => void,
    private readonly reject: (error: Error) => void,
  ) {}

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    // Aborted while the request waited for a connection.
    if (this.signal.aborted) controller.abort(abortReason(this.signal));
    else this.signal.addEventListener("abort", this);
  }

  /** The signal's abort event. */
  handleEvent(): void {
    this.controller?.abort(abortReason(this.signal));
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
    this.signal.removeEventListener("abort", this);
    this.resolve(this.answer);
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.signal.removeEventListener("abort", this);
    this.reject(error);
  }
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error("aborted");
}
