import { readFileSync } from "node:fs";
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import {
  type Auth0Event,
  describeError,
  parseCloudEvent,
  type TraceContext,
  type UnknownAuth0Event,
} from "@switchyard/core";
import { Counter, Registry } from "prom-client";
import { type ConnectionRefusal, DEFAULT_LIMITS, limitServer, type ServerLimits } from "../http-limits.js";
import { traceHeaders } from "../telemetry/index.js";
import { GroupCommit } from "./group-commit.js";
import { createAuthCheck, type WebhookAuth } from "./webhook-auth.js";
import { contentTypeError, readBody } from "./webhook-body.js";

export type { WebhookAuth } from "./webhook-auth.js";

/** `source.webhook` of the config: where Auth0 Event Streams POST their CloudEvents. */
export interface WebhookSourceOptions {
  port: number;
  /** Listen address (default 127.0.0.1: put a TLS-terminating proxy in front, or set `tls`). */
  host?: string | undefined;
  /** The path Auth0 POSTs to; any other path answers 404. */
  path: string;
  auth: WebhookAuth;
  /** PEM files of the certificate (chain) and its key: serve HTTPS. Relative paths resolve against `baseDir`. */
  tls?: { cert: string; key: string } | undefined;
  /** Larger bodies are refused with 413 (default 1 MiB). */
  maxBodyBytes?: number | undefined;
  /** Connections open at once (default 1,000); more are closed as they arrive. */
  maxConnections?: number | undefined;
  /** Time to send a request's headers (default 30 s) and the whole request (60 s): then 408 and closed. */
  headersTimeoutMs?: number | undefined;
  requestTimeoutMs?: number | undefined;
}

/** One accepted event and its JSON text, exactly as Auth0 sent it. */
export interface WebhookEvent {
  event: Auth0Event;
  json: string;
  /** The W3C trace context (`traceparent`, `tracestate`) the request carried, if any. */
  trace?: TraceContext | undefined;
}

/**
 * Stores events and their deliveries; resolves only once they are durable. It drops event ids it has seen
 * (Auth0 delivers at least once) and says how many; it rejects when the store cannot be written.
 */
export type WebhookSink = (events: ReadonlyArray<WebhookEvent>) => Promise<{ duplicates: number }>;

/** The pino-like logger the source writes to (no secret is ever passed to it). */
export interface WebhookLogger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface WebhookDeps {
  log: WebhookLogger;
  /** Where `switchyard_webhook_*` metrics are registered (the host's registry); a private one if absent. */
  registry?: Registry | undefined;
  /** An event accepted although its `data` deviates from its type's schema (count it as the stream does). */
  onInvalid?: ((event: UnknownAuth0Event, reason: string) => void) | undefined;
  /** Folder that relative `tls` paths resolve against (the config file's). */
  baseDir?: string | undefined;
}

export interface WebhookSource {
  /** `http(s)://host:port/path`, the URL to give Auth0 (behind its public name). */
  url: string;
  port: number;
  /** Stop accepting, wait for the requests under way (their events are stored or refused), close sockets. */
  close(): Promise<void>;
}

/** Why a request was refused, as the `reason` label of `switchyard_webhook_refused_total`. */
type Refusal =
  | "not_found"
  | "method_not_allowed"
  | "unauthorized"
  | "unsupported_media_type"
  | "too_large"
  | "bad_request"
  | "aborted"
  | "unavailable"
  | "internal"
  | "timeout"
  | "headers_too_large"
  | "too_many_connections";

const DEFAULT_MAX_BODY = 1024 * 1024;
/** Events written in one sink call at most, when many requests arrive at once. */
const MAX_GROUP = 256;
/** Seconds Auth0 is asked to wait after a 503 (the store could not be written). */
const RETRY_AFTER_S = 5;

/**
 * Receive Auth0 Event Streams' webhook deliveries: one CloudEvent per POST at `path`, authenticated as the
 * stream is configured to send, answered 2xx only once `sink` has stored the event (so that Auth0 retries
 * anything that was not), 4xx for requests that will never succeed, 503 when the store is not writable.
 */
export async function startWebhookSource(
  options: WebhookSourceOptions,
  sink: WebhookSink,
  deps: WebhookDeps,
): Promise<WebhookSource> {
  const { log } = deps;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY;
  const host = options.host ?? "127.0.0.1";
  const auth = createAuthCheck(options.auth);
  const metrics = webhookMetrics(deps.registry ?? new Registry());
  const commit = new GroupCommit<WebhookEvent, { duplicates: number }>(
    (events) => Promise.resolve().then(() => sink(events)),
    MAX_GROUP,
  );
  const inFlight = new Set<Promise<void>>();

  const refuse = (
    res: ServerResponse,
    status: number,
    reason: Refusal,
    message: string,
    headers: Record<string, string> = {},
    closeConnection = false,
  ) => {
    metrics.refused.labels(reason).inc();
    if (res.headersSent || res.destroyed) return;
    const body = JSON.stringify({ error: reason, message });
    res.writeHead(status, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(body),
      ...headers,
      ...(closeConnection ? { connection: "close" } : {}),
    });
    res.end(body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = req.url ?? "/";
    const query = url.indexOf("?");
    const path = query < 0 ? url : url.slice(0, query);
    // A body the request still carries is not read for a refusal: `connection: close` makes Node end the
    // socket once the answer is out, rather than keep it alive for a body nobody wants.
    const unread =
      req.headers["content-length"] !== undefined || req.headers["transfer-encoding"] !== undefined;
    if (path !== options.path) return refuse(res, 404, "not_found", "no such path", {}, unread);
    if (req.method !== "POST") {
      return refuse(res, 405, "method_not_allowed", "only POST", { allow: "POST" }, unread);
    }
    if (!auth.verify(req.headers)) {
      log.warn({ remote: req.socket.remoteAddress }, "webhook request refused: missing or wrong credentials");
      const challenge: Record<string, string> = auth.challenge ? { "www-authenticate": auth.challenge } : {};
      return refuse(res, 401, "unauthorized", "missing or wrong credentials", challenge, unread);
    }
    const typeError = contentTypeError(req.headers["content-type"]);
    if (typeError) return refuse(res, 415, "unsupported_media_type", typeError, {}, unread);
    const declared = Number(req.headers["content-length"] ?? 0);
    if (declared > maxBodyBytes) {
      return refuse(res, 413, "too_large", `the body exceeds ${maxBodyBytes} bytes`, {}, true);
    }
    // Only an authenticated request that may succeed is asked for its body (Node would have said
    // "100 Continue" to anyone, before the checks above).
    if (/100-continue/i.test(req.headers.expect ?? "")) res.writeContinue();

    const body = await readBody(req, maxBodyBytes);
    if (!body.ok) {
      if (body.reason === "too_large") {
        return refuse(res, 413, "too_large", `the body exceeds ${maxBodyBytes} bytes`, {}, true);
      }
      if (body.reason === "not_utf8") return refuse(res, 400, "bad_request", "the body is not UTF-8");
      metrics.refused.labels("aborted").inc();
      log.debug({ remote: req.socket.remoteAddress }, "webhook request aborted before its body ended");
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(body.text);
    } catch (error) {
      return refuse(res, 400, "bad_request", `the body is not JSON (${(error as Error).message})`);
    }
    const parsed = parseCloudEvent(value);
    if (!parsed.ok) {
      return refuse(res, 400, "bad_request", `the body is not an Auth0 CloudEvent: ${parsed.error.message}`);
    }
    const event = parsed.value;
    if (parsed.invalid !== undefined) {
      const reason = parsed.invalid;
      log.warn(
        { eventId: event.id, type: event.type, reason },
        "accepted an event whose data deviates from the schema of its type",
      );
      try {
        deps.onInvalid?.(parsed.value, reason);
      } catch {
        // A hook is for metrics and logs; it never refuses an event.
      }
    }
    try {
      await commit.submit({ event, json: body.text, trace: traceHeaders(req.headers) });
    } catch (error) {
      log.error(
        { eventId: event.id, error: describeError(error) },
        "webhook event not stored: answering 503",
      );
      return refuse(res, 503, "unavailable", "the event could not be stored; retry later", {
        "retry-after": String(RETRY_AFTER_S),
      });
    }
    metrics.events.inc();
    const answer = JSON.stringify({ id: event.id });
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(answer) });
    res.end(answer);
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const done = handle(req, res)
      .catch((error: unknown) => {
        log.error({ error: describeError(error) }, "webhook request failed");
        refuse(res, 500, "internal", "internal error");
      })
      .finally(() => inFlight.delete(done));
    inFlight.add(done);
  };

  const limits: ServerLimits = {
    headersTimeoutMs: options.headersTimeoutMs ?? DEFAULT_LIMITS.headersTimeoutMs,
    requestTimeoutMs: options.requestTimeoutMs ?? DEFAULT_LIMITS.requestTimeoutMs,
    maxConnections: options.maxConnections ?? DEFAULT_LIMITS.maxConnections,
  };
  const server: Server = options.tls
    ? createHttpsServer(
        {
          cert: readPem(resolve(deps.baseDir ?? ".", options.tls.cert), "cert"),
          key: readPem(resolve(deps.baseDir ?? ".", options.tls.key), "key"),
          // A client that opens a TLS connection and never finishes the handshake is held no longer.
          handshakeTimeout: limits.headersTimeoutMs,
        },
        onRequest,
      )
    : createHttpServer(onRequest);
  server.on("checkContinue", onRequest);
  limitServer(server, limits, (reason) => metrics.refused.labels(REFUSALS[reason]).inc());

  await new Promise<void>((ready, fail) => {
    server.once("error", fail);
    server.listen(options.port, host, () => {
      server.off("error", fail);
      ready();
    });
  });
  server.on("error", (error) => log.error({ error: describeError(error) }, "webhook server error"));
  const port = (server.address() as AddressInfo).port;
  const scheme = options.tls ? "https" : "http";
  const shown = host.includes(":") ? `[${host}]` : host;
  const url = `${scheme}://${shown}:${port}${options.path}`;
  log.info({ url, auth: authMethod(options.auth) }, "webhook source listening");

  return {
    url,
    port,
    async close() {
      const closed = new Promise<void>((done) => server.close(() => done()));
      server.closeIdleConnections();
      await Promise.allSettled([...inFlight]);
      server.closeAllConnections();
      await closed;
    },
  };
}

/** A connection closed before a request was read, by its label in `switchyard_webhook_refused_total`. */
const REFUSALS: Record<ConnectionRefusal, Refusal> = {
  limit: "too_many_connections",
  timeout: "timeout",
  headers_too_large: "headers_too_large",
  malformed: "bad_request",
  aborted: "aborted",
};

function authMethod(auth: WebhookAuth): string {
  return auth.bearer !== undefined ? "bearer" : auth.basic !== undefined ? "basic" : "header";
}

function readPem(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new Error(
      `source.webhook.tls.${what}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? error})`,
    );
  }
}

/** The source's counters; registered once per registry. */
function webhookMetrics(registry: Registry) {
  const existing = (name: string) => registry.getSingleMetric(name);
  const refused =
    (existing("switchyard_webhook_refused_total") as Counter<"reason"> | undefined) ??
    new Counter({
      name: "switchyard_webhook_refused_total",
      help: "Webhook requests refused (or abandoned by the client), by reason.",
      labelNames: ["reason"] as const,
      registers: [registry],
    });
  const events =
    (existing("switchyard_webhook_events_total") as Counter | undefined) ??
    new Counter({
      name: "switchyard_webhook_events_total",
      help: "Webhook events accepted (stored, or a duplicate of a stored one) and answered 2xx.",
      registers: [registry],
    });
  return { refused, events };
}
