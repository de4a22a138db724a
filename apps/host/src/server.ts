import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Counter, type Registry } from "prom-client";
import { type AdminContext, handleApi, isOpenRoute } from "./admin/api.js";
import { createGuard, type Refusal } from "./admin/guard.js";
import type { AdminToken } from "./admin/roles.js";
import type { Readiness } from "./engine/status.js";
import { DEFAULT_LIMITS, guarded, limitServer, requestUrl, type ServerLimits } from "./http-limits.js";

export interface OpsServerOptions {
  host: string;
  port: number;
  registry: Registry;
  readiness: () => Readiness;
  /** The admin API's bearer tokens, named, with their roles (required by the config when `host` is not loopback). */
  adminTokens?: readonly AdminToken[] | undefined;
  /** Applied to every API answer: no secret of the config leaves the host. */
  redact?: (text: string) => string;
  /** Serves the console's page and assets; true when it answered. */
  pages?: (req: IncomingMessage, res: ServerResponse) => boolean;
  /** Hears of a request that failed inside (the caller logs it). */
  onError?: (error: unknown) => void;
  /** Timeouts and the connection cap (default: `DEFAULT_LIMITS`). */
  limits?: Partial<ServerLimits> | undefined;
}

export interface OpsServer {
  server: Server;
  port: number;
  /** Give the admin API the running host's parts (until then it answers 503: starting). */
  attach(admin: AdminContext): void;
  /** Replace the admin tokens (a config reload): the next request is checked against these. */
  setAdminTokens(tokens: readonly AdminToken[]): void;
  close(): Promise<void>;
}

/**
 * The ops server: `/healthz` (the process runs), `/readyz` (stream connected, store writable) and `/metrics`
 * for machines; the admin API under `/api/` and the console at `/` for operators, behind the guard.
 */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  let guard = createGuard(options.adminTokens ?? []);
  const redact = options.redact ?? ((text: string) => text);
  let admin: AdminContext | undefined;
  const refuse = (res: ServerResponse, refusal: Refusal) =>
    res
      .writeHead(refusal.status, { "content-type": "application/json", ...refusal.headers })
      .end(JSON.stringify({ error: refusal.error }));

  const handle = (req: IncomingMessage, res: ServerResponse): Promise<void> | undefined => {
    const url = requestUrl(req);
    if (!url) {
      res.writeHead(400, { "content-type": "application/json", connection: "close" });
      res.end('{"error":"the request target is not a valid URL"}');
      return;
    }
    const path = url.pathname;
    if (path === "/api" || path.startsWith("/api/")) {
      const admitted = guard.api(req, isOpenRoute(path));
      if ("status" in admitted) {
        refuse(res, admitted);
        return;
      }
      // Only now may the client send its body (Node would have said "100 Continue" before the guard).
      if (/100-continue/i.test(req.headers.expect ?? "")) res.writeContinue();
      return handleApi(admin, req, res, url, redact, admitted);
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD", connection: "close" }).end();
      return;
    }
    if (path === "/healthz") {
      res.writeHead(200, { "content-type": "application/json" }).end('{"status":"ok"}');
    } else if (path === "/readyz") {
      const state = options.readiness();
      res.writeHead(state.ready ? 200 : 503, { "content-type": "application/json" }).end(
        JSON.stringify({
          status: !state.ready ? "not ready" : state.failedActions ? "degraded" : "ready",
          checks: state.checks,
          ...(state.failedActions ? { failedActions: state.failedActions } : {}),
        }),
      );
    } else if (path === "/metrics") {
      options.registry.metrics().then(
        (text) => res.writeHead(200, { "content-type": options.registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
    } else {
      const refusal = guard.page(req);
      if (refusal) refuse(res, refusal);
      else if (!options.pages?.(req, res)) res.writeHead(404).end();
    }
  };
  const onRequest = guarded(handle, (error) => options.onError?.(error));
  const server = createServer(onRequest);
  server.on("checkContinue", onRequest);
  const refused = opsRefusals(options.registry);
  limitServer(server, { ...DEFAULT_LIMITS, ...options.limits }, (reason) => refused.labels(reason).inc());
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    attach: (context) => {
      admin = context;
    },
    setAdminTokens: (tokens) => {
      guard = createGuard(tokens);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** `switchyard_ops_refused_total`: connections the ops server closed before a handler saw a request. */
function opsRefusals(registry: Registry): Counter<"reason"> {
  const name = "switchyard_ops_refused_total";
  return (
    (registry.getSingleMetric(name) as Counter<"reason"> | undefined) ??
    new Counter({
      name,
      help: "Connections the ops server closed unanswered or answered 4xx before reading a request: over the connection cap (limit), too slow (timeout), headers too large, malformed, aborted.",
      labelNames: ["reason"] as const,
      registers: [registry],
    })
  );
}
