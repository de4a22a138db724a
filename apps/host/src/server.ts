import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";
import { consoleHandler } from "./admin/static.js";

export interface Readiness {
  ready: boolean;
  checks: Record<string, boolean>;
}

/** `/healthz` (the process runs), `/readyz` (stream connected, store writable) and `/metrics`. */
export async function startOpsServer(options: {
  host: string;
  port: number;
  registry: Registry;
  readiness: () => Readiness;
}): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const serveConsole = consoleHandler();
  const server = createServer((req, res) => {
    if (serveConsole(req, res)) return;
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405).end();
      return;
    }
    if (path === "/healthz") {
      res.writeHead(200, { "content-type": "application/json" }).end('{"status":"ok"}');
    } else if (path === "/readyz") {
      const state = options.readiness();
      res
        .writeHead(state.ready ? 200 : 503, { "content-type": "application/json" })
        .end(JSON.stringify({ status: state.ready ? "ready" : "not ready", checks: state.checks }));
    } else if (path === "/metrics") {
      options.registry.metrics().then(
        (text) => res.writeHead(200, { "content-type": options.registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
    } else {
      res.writeHead(404).end();
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
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
