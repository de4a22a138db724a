import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Socket } from "node:net";

/** How long a client may take, and how many may be connected at once, on one of the host's servers. */
export interface ServerLimits {
  /** A connection that has not sent a request's complete headers by then is answered 408 and closed. */
  headersTimeoutMs: number;
  /** A request that is not complete (headers and body) by then is answered 408 and closed. */
  requestTimeoutMs: number;
  /** Connections open at once; more are closed as they arrive (and counted). */
  maxConnections: number;
}

export const DEFAULT_LIMITS: ServerLimits = {
  headersTimeoutMs: 30_000,
  requestTimeoutMs: 60_000,
  maxConnections: 1_000,
};

/** Why a connection was closed before a request handler saw it, as a metric label. */
export type ConnectionRefusal = "limit" | "timeout" | "headers_too_large" | "malformed" | "aborted";

/**
 * Apply `limits` to `server` and answer what Node's parser refuses: 408 for a client too slow, 431 for
 * headers too large, 400 for anything it cannot parse; then close the socket without waiting for the client.
 * An idle socket, or one that never finishes its request, is closed within `headersTimeoutMs` or
 * `requestTimeoutMs` plus a second.
 */
export function limitServer(
  server: Server,
  limits: ServerLimits,
  refused: (reason: ConnectionRefusal) => void,
): void {
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  // Node checks the two timeouts every `connectionsCheckingInterval` (30 s by default): a second keeps the
  // bound close to the setting for the price of a walk over the open connections.
  (server as Server & { connectionsCheckingInterval?: number }).connectionsCheckingInterval = 1_000;
  server.keepAliveTimeout = 5_000;
  server.maxConnections = limits.maxConnections;
  server.on("drop", () => refused("limit"));
  server.on("clientError", (error: NodeJS.ErrnoException, socket: Socket) => {
    const answer = ANSWERS[error.code ?? ""];
    if (error.code === "ECONNRESET" || !socket.writable || answer === null) {
      refused("aborted");
      socket.destroy();
      return;
    }
    const [status, reason] = answer ?? ([400, "malformed"] as const);
    refused(reason);
    socket.end(`HTTP/1.1 ${status} ${STATUS_TEXT[status]}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    // `end` alone waits for the client to close its side too: a client that never does would hold the socket.
    socket.destroySoon();
  });
}

const ANSWERS: Record<string, readonly [408 | 431 | 400, ConnectionRefusal] | null> = {
  ERR_HTTP_REQUEST_TIMEOUT: [408, "timeout"],
  HPE_HEADER_OVERFLOW: [431, "headers_too_large"],
  HPE_CHUNK_EXTENSIONS_OVERFLOW: [431, "headers_too_large"],
};

const STATUS_TEXT = { 400: "Bad Request", 408: "Request Timeout", 431: "Request Header Fields Too Large" };

/**
 * A request handler that can never throw out of the server: a throw, or a rejection, answers 500 (if no
 * answer has started) and is reported to `onError`, for this request only.
 */
export function guarded(
  handler: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>,
  onError: (error: unknown) => void,
): (req: IncomingMessage, res: ServerResponse) => void {
  const fail = (res: ServerResponse, error: unknown) => {
    try {
      onError(error);
    } finally {
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(500, { "content-type": "application/json", connection: "close" });
        res.end('{"error":"internal error"}');
      } else if (!res.writableEnded) {
        res.destroy();
      }
    }
  };
  return (req, res) => {
    try {
      const done = handler(req, res);
      if (done) done.catch((error: unknown) => fail(res, error));
    } catch (error) {
      fail(res, error);
    }
  };
}

/** The request's target as a URL, or undefined when it is not one (`GET http://x:99999/`). */
export function requestUrl(req: IncomingMessage): URL | undefined {
  try {
    return new URL(req.url ?? "/", "http://switchyard.invalid");
  } catch {
    return undefined;
  }
}
