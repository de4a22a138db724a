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
import { Registry } from "prom-client";
import { DEFAULT_LIMITS, limitServer, type ServerLimits } from "../http-limits.js";
import { traceHeaders } from "../telemetry/index.js";
import { DEFAULT_TENANT } from "../tenants.js";
import { GroupCommit } from "./group-commit.js";
import { type AuthCheck, createAuthCheck, type WebhookAuth } from "./webhook-auth.js";
import { contentTypeError, readBody } from "./webhook-body.js";
import { REFUSALS, type Refusal, webhookMetrics } from "./webhook-metrics.js";

export type { WebhookAuth } from "./webhook-auth.js";

/** Where a webhook server listens and how it bounds its clients; what it serves are its routes. */
export interface WebhookServerOptions {
  port: number;
  /** Listen address (default 127.0.0.1: put a TLS-terminating proxy in front, or set `tls`). */
  host?: string | undefined;
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

/** `source.webhook` of the config: one server with one path, for the tenant "default". */
export interface WebhookSourceOptions extends WebhookServerOptions {
  /** The path Auth0 POSTs to; any other path answers 404. */
  path: string;
  auth: WebhookAuth;
}

/** One path of a webhook server: the tenant whose Event Stream posts there, and its credentials. */
export interface WebhookRoute {
  /** The tenant this path belongs to (the config's `sources[].tenant`; "default" for the single `source`). */
  tenant: string;
  /** The path Auth0 POSTs to, exactly (a query string is ignored). */
  path: string;
  /** The credentials this path accepts; another route's never pass here. */
  auth: WebhookAuth;
  /**
   * The `a0tenant` values (Auth0's tenant names) an event posted here may carry; undefined: no check (the
   * single legacy `source`). An event with another `a0tenant` is refused with 422 `wrong_tenant`; one with an
   * empty `a0tenant` is accepted.
   */
  a0tenants?: readonly string[] | undefined;
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
 * (Auth0 delivers at least once) and says how many; it rejects when the store cannot be written. One call
 * carries the events of one route, hence of one `tenant`.
 */
export type WebhookSink = (
  events: ReadonlyArray<WebhookEvent>,
  tenant: string,
) => Promise<{ duplicates: number }>;

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
  onInvalid?: ((event: UnknownAuth0Event, reason: string, tenant: string) => void) | undefined;
  /** Folder that relative `tls` paths resolve against (the config file's). */
  baseDir?: string | undefined;
}

/** A running webhook server: one port, one URL per route. */
export interface WebhookServer {
  port: number;
  /** Each route's `http(s)://host:port/path`, the URL to give its tenant's Event Stream (behind its public name). */
  urls: Array<{ tenant: string; url: string }>;
  /** Stop accepting, wait for the requests under way (their events are stored or refused), close sockets. */
  close(): Promise<void>;
}

export interface WebhookSource {
  /** `http(s)://host:port/path`, the URL to give Auth0 (behind its public name). */
  url: string;
  port: number;
  /** Stop accepting, wait for the requests under way (their events are stored or refused), close sockets. */
  close(): Promise<void>;
}

const DEFAULT_MAX_BODY = 1024 * 1024;
/** Events written in one sink call at most, when many requests arrive at once. */
const MAX_GROUP = 256;
/** Seconds Auth0 is asked to wait after a 503 (the store could not be written). */
const RETRY_AFTER_S = 5;
/** Characters of a client's `a0tenant` that a refusal logs and echoes at most. */
const MAX_ECHO = 256;

/**
 * Receive Auth0 Event Streams' webhook deliveries at one path: `startWebhookServer` with one route for the
 * tenant "default", whose events' `a0tenant` is not checked.
 */
export async function startWebhookSource(
  options: WebhookSourceOptions,
  sink: WebhookSink,
  deps: WebhookDeps,
): Promise<WebhookSource> {
  const { path, auth, ...serverOptions } = options;
  const server = await startWebhookServer(
    serverOptions,
    [{ tenant: DEFAULT_TENANT, path, auth }],
    sink,
    deps,
  );
  return { url: server.urls[0]!.url, port: server.port, close: () => server.close() };
}

/** A route as the server holds it: its credentials' check, and the group commit of its own events. */
interface ServedRoute {
  tenant: string;
  auth: AuthCheck;
  a0tenants: ReadonlySet<string> | undefined;
  commit: GroupCommit<WebhookEvent, { duplicates: number }>;
}

/**
 * Receive Auth0 Event Streams' webhook deliveries for several tenants on one port: one CloudEvent per POST at
 * a route's `path`, authenticated with that route's credentials only, answered 2xx only once `sink` has
 * stored the event under the route's tenant (so that Auth0 retries anything that was not), 4xx for requests
 * that will never succeed, 503 when the store is not writable.
 */
export async function startWebhookServer(
  options: WebhookServerOptions,
  routes: readonly WebhookRoute[],
  sink: WebhookSink,
  deps: WebhookDeps,
): Promise<WebhookServer> {
  const { log } = deps;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY;
  const host = options.host ?? "127.0.0.1";
  const served = serveRoutes(routes, sink, options.port);
  const metrics = webhookMetrics(deps.registry ?? new Registry());
  const inFlight = new Set<Promise<void>>();

  const refuse = (
    res: ServerResponse,
    tenant: string | undefined,
    status: number,
    reason: Refusal,
    message: string,
    headers: Record<string, string> = {},
    closeConnection = false,
  ) => {
    metrics.refused(reason, tenant);
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

  const handle = async (
    req: IncomingMessage,
    res: ServerResponse,
    route: ServedRoute | undefined,
  ): Promise<void> => {
    // A body the request still carries is not read for a refusal: `connection: close` makes Node end the
    // socket once the answer is out, rather than keep it alive for a body nobody wants.
    const unread =
      req.headers["content-length"] !== undefined || req.headers["transfer-encoding"] !== undefined;
    if (route === undefined) return refuse(res, undefined, 404, "not_found", "no such path", {}, unread);
    const { tenant } = route;
    if (req.method !== "POST") {
      return refuse(res, tenant, 405, "method_not_allowed", "only POST", { allow: "POST" }, unread);
    }
    if (!route.auth.verify(req.headers)) {
      log.warn(
        { tenant, remote: req.socket.remoteAddress },
        "webhook request refused: missing or wrong credentials",
      );
      const challenge: Record<string, string> = route.auth.challenge
        ? { "www-authenticate": route.auth.challenge }
        : {};
      return refuse(res, tenant, 401, "unauthorized", "missing or wrong credentials", challenge, unread);
    }
    const typeError = contentTypeError(req.headers["content-type"]);
    if (typeError) return refuse(res, tenant, 415, "unsupported_media_type", typeError, {}, unread);
    const declared = Number(req.headers["content-length"] ?? 0);
    if (declared > maxBodyBytes) {
      return refuse(res, tenant, 413, "too_large", `the body exceeds ${maxBodyBytes} bytes`, {}, true);
    }
    // Only an authenticated request that may succeed is asked for its body (Node would have said
    // "100 Continue" to anyone, before the checks above).
    if (/100-continue/i.test(req.headers.expect ?? "")) res.writeContinue();

    const body = await readBody(req, maxBodyBytes);
    if (!body.ok) {
      if (body.reason === "too_large") {
        return refuse(res, tenant, 413, "too_large", `the body exceeds ${maxBodyBytes} bytes`, {}, true);
      }
      if (body.reason === "not_utf8") return refuse(res, tenant, 400, "bad_request", "the body is not UTF-8");
      metrics.refused("aborted", tenant);
      log.debug(
        { tenant, remote: req.socket.remoteAddress },
        "webhook request aborted before its body ended",
      );
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(body.text);
    } catch (error) {
      return refuse(res, tenant, 400, "bad_request", `the body is not JSON (${(error as Error).message})`);
    }
    const parsed = parseCloudEvent(value);
    if (!parsed.ok) {
      const message = `the body is not an Auth0 CloudEvent: ${parsed.error.message}`;
      return refuse(res, tenant, 400, "bad_request", message);
    }
    const event = parsed.value;
    // 422, not 400: the body is a well-formed CloudEvent with the right credentials, only from an Auth0
    // tenant this path does not serve (a stream given another tenant's URL and credentials), which no retry
    // fixes. Auth0 retries any non-2xx alike; the distinct code tells a misrouted stream from a malformed
    // body in Auth0's delivery log. An empty `a0tenant` names no tenant, so it cannot be the wrong one.
    if (route.a0tenants !== undefined && event.a0tenant !== "" && !route.a0tenants.has(event.a0tenant)) {
      // The schema puts no bound on `a0tenant`: a client's string is cut before it is logged or echoed.
      const a0tenant = event.a0tenant.slice(0, MAX_ECHO);
      log.warn(
        { tenant, a0tenant, eventId: event.id },
        "webhook event refused: its a0tenant is not one this path accepts",
      );
      const message = `a0tenant ${JSON.stringify(a0tenant)} is not accepted at this path`;
      return refuse(res, tenant, 422, "wrong_tenant", message);
    }
    if (parsed.invalid !== undefined) {
      const reason = parsed.invalid;
      log.warn(
        { tenant, eventId: event.id, type: event.type, reason },
        "accepted an event whose data deviates from the schema of its type",
      );
      try {
        deps.onInvalid?.(parsed.value, reason, tenant);
      } catch {
        // A hook is for metrics and logs; it never refuses an event.
      }
    }
    try {
      await route.commit.submit({ event, json: body.text, trace: traceHeaders(req.headers) });
    } catch (error) {
      log.error(
        { tenant, eventId: event.id, error: describeError(error) },
        "webhook event not stored: answering 503",
      );
      return refuse(res, tenant, 503, "unavailable", "the event could not be stored; retry later", {
        "retry-after": String(RETRY_AFTER_S),
      });
    }
    metrics.accepted(tenant);
    const answer = JSON.stringify({ id: event.id });
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(answer) });
    res.end(answer);
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? "/";
    const query = url.indexOf("?");
    const route = served.get(query < 0 ? url : url.slice(0, query));
    const done = handle(req, res, route)
      .catch((error: unknown) => {
        log.error({ tenant: route?.tenant, error: describeError(error) }, "webhook request failed");
        refuse(res, route?.tenant, 500, "internal", "internal error");
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
  limitServer(server, limits, (reason) => metrics.refused(REFUSALS[reason], undefined));

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
  const urls = routes.map(({ tenant, path }) => ({ tenant, url: `${scheme}://${shown}:${port}${path}` }));
  for (const [i, { tenant, url }] of urls.entries()) {
    log.info({ tenant, url, auth: authMethod(routes[i]!.auth) }, "webhook source listening");
  }

  return {
    port,
    urls,
    async close() {
      const closed = new Promise<void>((done) => server.close(() => done()));
      server.closeIdleConnections();
      await Promise.allSettled([...inFlight]);
      server.closeAllConnections();
      await closed;
    },
  };
}

/** The routes by path, each with its own group commit so that one sink call never mixes tenants. */
function serveRoutes(routes: readonly WebhookRoute[], sink: WebhookSink, port: number) {
  if (routes.length === 0) throw new Error(`webhook server on port ${port}: no routes to serve`);
  const served = new Map<string, ServedRoute>();
  for (const route of routes) {
    const taken = served.get(route.path);
    if (taken !== undefined) {
      throw new Error(
        `webhook server on port ${port}: tenants "${taken.tenant}" and "${route.tenant}" both use the path ` +
          `${route.path}; each tenant needs a path of its own`,
      );
    }
    const { tenant } = route;
    served.set(route.path, {
      tenant,
      auth: createAuthCheck(route.auth),
      a0tenants: route.a0tenants === undefined ? undefined : new Set(route.a0tenants),
      commit: new GroupCommit<WebhookEvent, { duplicates: number }>(
        (events) => Promise.resolve().then(() => sink(events, tenant)),
        MAX_GROUP,
      ),
    });
  }
  return served;
}

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
