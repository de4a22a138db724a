import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";
import { type AdminContext, handleApi } from "./admin/api.js";
import { createGuard, type Refusal } from "./admin/guard.js";

export interface Readiness {
  ready: boolean;
  checks: Record<string, boolean>;
  /** Actions the host could not start: it is degraded (still ready when `ready`), and says which. */
  failedActions?: string[];
}

export interface OpsServerOptions {
  host: string;
  port: number;
  registry: Registry;
  readiness: () => Readiness;
  /** Bearer token of the admin API (required by the config when `host` is not loopback). */
  adminToken?: string | undefined;
  /** Applied to every API answer: no secret of the config leaves the host. */
  redact?: (text: string) => string;
  /** Serves the console's page and assets; true when it answered. */
  pages?: (req: IncomingMessage, res: ServerResponse) => boolean;
  /** Hears of an API request that failed inside (the caller logs it). */
  onError?: (error: unknown) => void;
}

export interface OpsServer {
  server: Server;
  port: number;
  /** Give the admin API the running host's parts (until then it answers 503: starting). */
  attach(admin: AdminContext): void;
  close(): Promise<void>;
}

/**
 * The ops server: `/healthz` (the process runs), `/readyz` (stream connected, store writable) and `/metrics`
 * for machines; the admin API under `/api/` and the console at `/` for operators, behind the guard.
 */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const guard = createGuard(options.adminToken);
  const redact = options.redact ?? ((text: string) => text);
  let admin: AdminContext | undefined;
  const refuse = (res: ServerResponse, refusal: Refusal) =>
    res
      .writeHead(refusal.status, { "content-type": "application/json", ...refusal.headers })
      .end(JSON.stringify({ error: refusal.error }));

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://switchyard.invalid");
    const path = url.pathname;
    if (path === "/api" || path.startsWith("/api/")) {
      const refusal = guard.api(req);
      if (refusal) return refuse(res, refusal);
      handleApi(admin, req, res, url, redact).catch((error: unknown) => options.onError?.(error));
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
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
      if (refusal) return refuse(res, refusal);
      if (!options.pages?.(req, res)) res.writeHead(404).end();
    }
  });
  server.keepAliveTimeout = 5_000;
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
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
