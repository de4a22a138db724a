import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { waitFor } from "./wait-for.js";

/** A request a fake server received, body included. */
export interface RecordedRequest {
  method: string;
  /** Path and query, e.g. `/api/chat.postMessage`. */
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The body's bytes, for a binary one (protobuf) that `body` cannot hold as text. */
  bytes: Buffer;
  /** The body parsed as JSON (or form fields as an object), when it is. */
  json: unknown;
  receivedAt: number;
}

/** How to answer the next request(s) instead of the normal reply. */
export type Failure =
  /** Answer with this status (and headers/body), e.g. `{ status: 429, headers: { "retry-after": "2" } }`. */
  | { status: number; headers?: Record<string, string>; body?: string }
  /** Answer normally, but only after `delayMs`. */
  | { delayMs: number }
  /** Destroy the connection without answering. */
  | { drop: true };

/** The normal reply of a fake server to one request. */
export interface Reply {
  status?: number;
  headers?: Record<string, string>;
  body?: string | object;
}

export interface FakeServer {
  /** Base URL, e.g. `http://127.0.0.1:40123`. */
  url: string;
  port: number;
  /** Every request received, in order (failed ones included). */
  requests: RecordedRequest[];
  /** Make the next `times` requests (default 1) fail this way. */
  failNext(failure: Failure, times?: number): void;
  /** Make every request fail this way until `recover()`. */
  failAlways(failure: Failure): void;
  recover(): void;
  /** Sockets currently open to the server (0 once clients released their keep-alive connections). */
  openConnections(): number;
  /** Resolve once at least `count` requests matching `filter` arrived. */
  waitForRequests(
    count: number,
    filter?: (request: RecordedRequest) => boolean,
    timeoutMs?: number,
  ): Promise<RecordedRequest[]>;
  close(): Promise<void>;
}

/**
 * Start an HTTP server on 127.0.0.1 (a free port) that records requests and answers with `reply`,
 * unless told to fail. The base for the fake Slack, Segment and webhook servers.
 */
export async function startFakeServer(
  reply: (request: RecordedRequest) => Reply | Promise<Reply> = () => ({ status: 200, body: "" }),
): Promise<FakeServer> {
  const requests: RecordedRequest[] = [];
  const queued: Failure[] = [];
  let always: Failure | undefined;
  const sockets = new Set<Socket>();

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const bytes = Buffer.concat(chunks);
      const body = bytes.toString("utf8");
      const request: RecordedRequest = {
        method: req.method ?? "GET",
        path: req.url ?? "/",
        headers: req.headers,
        body,
        bytes,
        json: parseBody(body, req.headers["content-type"]),
        receivedAt: Date.now(),
      };
      requests.push(request);
      const failure = queued.shift() ?? always;
      void answer(request, res, failure).catch(() => res.destroy());
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });

  async function answer(request: RecordedRequest, res: ServerResponse, failure: Failure | undefined) {
    if (failure && "drop" in failure) {
      res.socket?.destroy();
      return;
    }
    if (failure && "delayMs" in failure) {
      await new Promise((resolve) => setTimeout(resolve, failure.delayMs));
      if (res.socket?.destroyed) return;
    }
    const out: Reply = failure && "status" in failure ? failure : await reply(request);
    const body =
      typeof out.body === "string" || out.body === undefined ? (out.body ?? "") : JSON.stringify(out.body);
    const headers = {
      ...(typeof out.body === "object" ? { "content-type": "application/json" } : {}),
      ...out.headers,
    };
    res.writeHead(out.status ?? 200, headers);
    res.end(body);
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    failNext(failure, times = 1) {
      for (let i = 0; i < times; i++) queued.push(failure);
    },
    failAlways(failure) {
      always = failure;
    },
    recover() {
      always = undefined;
      queued.length = 0;
    },
    openConnections: () => sockets.size,
    waitForRequests(count, filter = () => true, timeoutMs = 10_000) {
      return waitFor(
        () => {
          const matching = requests.filter(filter);
          return matching.length >= count ? matching : undefined;
        },
        { timeoutMs, message: `${count} request(s) at ${port}` },
      );
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

function parseBody(body: string, contentType: string | undefined): unknown {
  if (!body) return undefined;
  try {
    if (contentType?.includes("application/x-www-form-urlencoded")) {
      return Object.fromEntries(new URLSearchParams(body));
    }
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}
