import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { Auth0Event } from "@switchyard/core";
import { isKnownEventType } from "@switchyard/core";
import { EventLog } from "./event-log.js";

/** Knobs of the fake Auth0 tenant (`startFakeTenant`). */
export interface FakeTenantOptions {
  /** Accepted credentials for `POST /oauth/token` (defaults provided). */
  clientId?: string;
  clientSecret?: string;
  /** A static token that is also accepted. */
  token?: string;
  /** `expires_in` of issued tokens (default 86400); after expiry the stream answers 401. */
  tokenTtlSeconds?: number;
  /** `: heartbeat` comments, and offset-only frames when idle (default 15000). */
  heartbeatMs?: number;
  /** The `retry:` field sent on connect (default 50, so that tests reconnect quickly). */
  retryMs?: number;
  /** Close the stream (EOF) after this many events per connection. */
  cutEvery?: number;
  /** Send an `error` frame with code `connection_timeout`, then close, after this many events per connection. */
  rotateEvery?: number;
  /** Write bytes in random-size chunks, split at arbitrary byte boundaries (inside UTF-8 too). */
  splitFrames?: boolean | { seed: number };
  port?: number;
}

/** A fake tenant serving `GET /api/v2/events` and `POST /oauth/token` on 127.0.0.1. */
export interface FakeTenant {
  /** `http://127.0.0.1:PORT`: use it as `domain`. */
  url: string;
  clientId: string;
  clientSecret: string;
  token: string;
  /** Add events to the log; returns their offsets. Live connections receive them. */
  append(events: Auth0Event | Auth0Event[]): string[];
  /** Add `count` lazily built realistic events (constant memory per call). */
  appendMany(count: number, options?: { types?: readonly string[]; seed?: number }): void;
  /** The offset of the event at `index` (0-based, in append order). */
  offsetOf(index: number): string;
  /** The event at `index`, as served. */
  eventAt(index: number): Auth0Event;
  /** Number of events in the log. */
  readonly size: number;
  /** Answer the next `times` (default 1) stream connections with `status` (and headers). */
  failNextConnects(status: number, times?: number, headers?: Record<string, string>): void;
  /** Send a malformed frame on live connections (or the next one, when none is open). */
  injectMalformed(kind: "bad-json" | "bad-shape" | "garbage-bytes"): void;
  /** Send an `error` frame with this code, then close, on live connections (or the next one). */
  sendErrorFrame(code: string): void;
  /** Offsets of events before `index` are expired: `from` at one of them answers 410. */
  expireOffsetsBefore(index: number): void;
  /** Send no bytes at all (not even heartbeats) for `ms` on live connections. */
  stall(ms: number): void;
  /** Destroy the sockets of live stream connections. */
  dropConnections(): void;
  /** Every token issued so far now gets 401. */
  revokeTokens(): void;
  /** Every `GET /api/v2/events`, in order (failed ones included). */
  connections: Array<{
    query: URLSearchParams;
    headers: Record<string, string | string[] | undefined>;
    at: number;
  }>;
  /** Number of `POST /oauth/token` requests. */
  readonly tokenRequests: number;
  /** Stream connections currently open. */
  readonly liveConnections: number;
  /** Append realistic events at this rate until the returned `stop()` is called. */
  startTrickle(eventsPerSecond: number, options?: { types?: readonly string[] }): () => void;
  close(): Promise<void>;
}

type Injection =
  | { kind: "malformed"; malformed: "bad-json" | "bad-shape" | "garbage-bytes" }
  | { kind: "error"; code: string };

interface Live {
  res: ServerResponse;
  next: number;
  /** Last index passed (sent or filtered out); -1 before any. */
  position: number;
  sent: number;
  types: Set<string> | undefined;
  stalledUntil: number;
  injections: Injection[];
  wake: (() => void) | undefined;
  beatDue: boolean;
  closed: boolean;
  heartbeat: NodeJS.Timeout | undefined;
}

const BATCH_BYTES = 256 * 1024;

/** Start a fake Auth0 tenant that speaks the event stream's exact frame format. */
export async function startFakeTenant(options: FakeTenantOptions = {}): Promise<FakeTenant> {
  const clientId = options.clientId ?? "fake-client-id";
  const clientSecret = options.clientSecret ?? "fake-client-secret";
  const staticToken = options.token ?? `static_${randomBytes(12).toString("hex")}`;
  const ttlMs = (options.tokenTtlSeconds ?? 86_400) * 1000;
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const retryMs = options.retryMs ?? 50;
  const split = options.splitFrames
    ? splitter(options.splitFrames === true ? 1 : options.splitFrames.seed)
    : undefined;

  const log = new EventLog();
  const issued = new Map<string, number>(); // token → expiry (ms); revoked tokens are deleted
  const live = new Set<Live>();
  const sockets = new Set<Socket>();
  const trickles = new Set<NodeJS.Timeout>();
  const queuedFailures: Array<{ status: number; headers: Record<string, string> }> = [];
  const pendingForNext: Injection[] = [];
  let expiredBefore = 0;
  let tokenRequests = 0;
  let tokenCounter = 0;
  const connections: FakeTenant["connections"] = [];

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (req.method === "POST" && url.pathname === "/oauth/token")
      return void handleToken(req, res).catch(() => res.destroy());
    if (req.method === "GET" && url.pathname === "/api/v2/events") return handleEvents(req, res, url);
    json(res, 404, { statusCode: 404, error: "Not Found", message: "Not Found" });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on("close", () => sockets.delete(socket));
  });

  async function handleToken(req: IncomingMessage, res: ServerResponse): Promise<void> {
    tokenRequests++;
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    let body: Record<string, unknown> = {};
    try {
      body = String(req.headers["content-type"]).includes("json")
        ? (JSON.parse(text) as Record<string, unknown>)
        : Object.fromEntries(new URLSearchParams(text));
    } catch {
      json(res, 400, { error: "invalid_request", error_description: "unreadable body" });
      return;
    }
    if (body.grant_type !== "client_credentials") {
      json(res, 400, { error: "unsupported_grant_type", error_description: "use client_credentials" });
      return;
    }
    if (body.client_id !== clientId || body.client_secret !== clientSecret) {
      json(res, 401, { error: "access_denied", error_description: "Unauthorized" });
      return;
    }
    const token = `tok_${++tokenCounter}_${randomBytes(8).toString("hex")}`;
    issued.set(token, Date.now() + ttlMs);
    json(res, 200, {
      access_token: token,
      token_type: "Bearer",
      expires_in: ttlMs / 1000,
      scope: "read:events",
    });
  }

  function handleEvents(req: IncomingMessage, res: ServerResponse, url: URL): void {
    connections.push({ query: url.searchParams, headers: { ...req.headers }, at: Date.now() });
    const failure = queuedFailures.shift();
    if (failure) {
      json(
        res,
        failure.status,
        { statusCode: failure.status, message: `injected ${failure.status}` },
        failure.headers,
      );
      return;
    }
    const auth = req.headers.authorization ?? "";
    const token = auth.startsWith("Bearer ") ? auth.slice(7) : "";
    const expiry = issued.get(token);
    if (token !== staticToken && (expiry === undefined || expiry <= Date.now())) {
      json(res, 401, { statusCode: 401, error: "Unauthorized", message: "Invalid token" });
      return;
    }
    const types = url.searchParams.getAll("event_type");
    const unknown = types.find((type) => !isKnownEventType(type));
    if (unknown !== undefined) {
      json(res, 400, {
        statusCode: 400,
        error: "Bad Request",
        message: `Invalid event_type: ${unknown}`,
      });
      return;
    }
    const lastEventId = req.headers["last-event-id"];
    const cursor = (typeof lastEventId === "string" && lastEventId) || url.searchParams.get("from");
    const fromTimestamp = url.searchParams.get("from_timestamp");
    let next: number;
    if (cursor) {
      const index = log.indexOfOffset(cursor);
      if (index === undefined) {
        json(res, 400, {
          statusCode: 400,
          error: "Bad Request",
          message: "Invalid offset",
          errorCode: "invalid_cursor",
        });
        return;
      }
      if (index < expiredBefore) {
        json(res, 410, {
          statusCode: 410,
          error: "Gone",
          message: "Offset expired",
          errorCode: "cursor_expired",
        });
        return;
      }
      next = index + 1;
    } else if (fromTimestamp) {
      const ms = Date.parse(fromTimestamp);
      if (Number.isNaN(ms)) {
        json(res, 400, { statusCode: 400, error: "Bad Request", message: "Invalid from_timestamp" });
        return;
      }
      next = Math.max(expiredBefore, log.firstIndexAtOrAfter(ms));
    } else {
      next = log.length;
    }

    res.writeHead(200, {
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
      connection: "keep-alive",
    });
    const conn: Live = {
      res,
      next,
      position: next - 1,
      sent: 0,
      types: types.length ? new Set(types) : undefined,
      stalledUntil: 0,
      injections: pendingForNext.splice(0),
      wake: undefined,
      beatDue: false,
      closed: false,
      heartbeat: undefined,
    };
    live.add(conn);
    const finish = () => {
      conn.closed = true;
      live.delete(conn);
      clearInterval(conn.heartbeat);
      conn.wake?.();
    };
    res.on("close", finish);
    conn.heartbeat = setInterval(() => {
      conn.beatDue = true;
      conn.wake?.();
    }, heartbeatMs);
    void pump(conn, `:connected\nretry: ${retryMs}\n\n`).catch(() => res.destroy());
  }

  async function pump(conn: Live, preamble: string): Promise<void> {
    await write(conn, preamble);
    while (!conn.closed) {
      const now = Date.now();
      if (conn.stalledUntil > now) {
        await sleep(conn.stalledUntil - now);
        conn.beatDue = false;
        continue;
      }
      const injection = conn.injections.shift();
      if (injection?.kind === "error") {
        await write(conn, errorFrame(injection.code, conn.position));
        return void conn.res.end();
      }
      if (injection?.kind === "malformed") {
        await write(conn, malformedFrame(injection.malformed, conn.position));
        continue;
      }
      if (conn.next < log.length) {
        const batch = Buffer.allocUnsafe(BATCH_BYTES);
        let used = 0;
        let end: "cut" | "rotate" | undefined;
        while (conn.next < log.length && used < BATCH_BYTES - 4096) {
          const index = conn.next;
          if (conn.types && !conn.types.has(log.typeAt(index))) {
            conn.next++;
            conn.position = index;
            continue;
          }
          const after = log.encodeFrame(index, batch, used);
          if (after === -1) {
            if (used > 0) break;
            // A frame bigger than a whole batch: send it on its own.
            await write(conn, log.frameAt(index));
          } else {
            used = after;
          }
          conn.next++;
          conn.position = index;
          conn.sent++;
          if (options.cutEvery && conn.sent % options.cutEvery === 0) end = "cut";
          if (options.rotateEvery && conn.sent % options.rotateEvery === 0) end = "rotate";
          if (end) break;
        }
        if (used > 0) await write(conn, batch.subarray(0, used));
        if (end === "rotate") await write(conn, errorFrame("connection_timeout", conn.position));
        if (end) {
          conn.res.end();
          return;
        }
        conn.beatDue = false;
        continue;
      }
      if (conn.beatDue) {
        conn.beatDue = false;
        const offsetOnly =
          conn.position >= 0
            ? `event: offset-only\nid: ${log.offsetOf(conn.position)}\ndata: {"offset":"${log.offsetOf(conn.position)}"}\n\n`
            : "";
        await write(conn, `: heartbeat\n\n${offsetOnly}`);
        continue;
      }
      await new Promise<void>((resolve) => {
        conn.wake = resolve;
      });
      conn.wake = undefined;
    }
  }

  async function write(conn: Live, text: string | Buffer): Promise<void> {
    if (conn.closed) return;
    if (!split) {
      if (!conn.res.write(text)) await drained(conn);
      return;
    }
    const bytes = typeof text === "string" ? Buffer.from(text, "utf8") : text;
    for (let at = 0; at < bytes.length && !conn.closed; ) {
      const size = split();
      conn.res.write(bytes.subarray(at, at + size));
      at += size;
      // Give the reader a turn, so that chunk boundaries survive to the client's socket reads.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  function drained(conn: Live): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        conn.res.off("drain", done);
        conn.res.off("close", done);
        resolve();
      };
      conn.res.on("drain", done);
      conn.res.on("close", done);
    });
  }

  function errorFrame(code: string, position: number): string {
    const offset = position >= 0 ? `,"offset":"${log.offsetOf(position)}"` : "";
    return `event: error\ndata: {"error":{"code":"${code}","message":"injected ${code}"${offset}}}\n\n`;
  }

  function malformedFrame(
    kind: "bad-json" | "bad-shape" | "garbage-bytes",
    position: number,
  ): string | Buffer {
    // A repeat of an offset already sent, never a new one: a malformed frame must not move anyone's cursor.
    const offset = log.offsetOf(Math.max(position, 0));
    if (kind === "bad-json") {
      return `event: user.created\nid: ${offset}\ndata: {"offset":"${offset}","event":{"specversion":"1.0",\n\n`;
    }
    if (kind === "bad-shape") {
      return `event: user.created\nid: ${offset}\ndata: {"offset":"${offset}","event":{"specversion":"1.0","type":"user.created","id":"evt_bad"}}\n\n`;
    }
    return Buffer.concat([
      Buffer.from(`event: user.created\nid: ${offset}\ndata: `),
      Buffer.from([0xff, 0xfe, 0x00, 0xe2, 0x28, 0xa1, 0xc0, 0x80, 0x7b, 0x22, 0xf0, 0x9f, 0x98]),
      Buffer.from("\r\n\u0000\u0007garbage-line-without-colon\n\xf0\n\n"),
    ]);
  }

  function wakeAll(): void {
    for (const conn of live) conn.wake?.();
  }

  function inject(injection: Injection): void {
    if (live.size === 0) pendingForNext.push(injection);
    for (const conn of live) conn.injections.push(injection);
    wakeAll();
  }

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    clientId,
    clientSecret,
    token: staticToken,
    append(events) {
      const list = Array.isArray(events) ? events : [events];
      const offsets = log.append(list).map((index) => log.offsetOf(index));
      wakeAll();
      return offsets;
    },
    appendMany(count, appendOptions = {}) {
      log.appendMany(count, appendOptions);
      wakeAll();
    },
    offsetOf: (index) => log.offsetOf(index),
    eventAt: (index) => log.eventAt(index),
    get size() {
      return log.length;
    },
    failNextConnects(status, times = 1, headers = {}) {
      for (let i = 0; i < times; i++) queuedFailures.push({ status, headers });
    },
    injectMalformed(kind) {
      inject({ kind: "malformed", malformed: kind });
    },
    sendErrorFrame(code) {
      inject({ kind: "error", code });
    },
    expireOffsetsBefore(index) {
      expiredBefore = index;
    },
    stall(ms) {
      for (const conn of live) conn.stalledUntil = Date.now() + ms;
    },
    dropConnections() {
      for (const conn of live) conn.res.socket?.destroy();
    },
    revokeTokens() {
      issued.clear();
    },
    connections,
    get tokenRequests() {
      return tokenRequests;
    },
    get liveConnections() {
      return live.size;
    },
    startTrickle(eventsPerSecond, trickleOptions = {}) {
      const started = Date.now();
      let appended = 0;
      const timer = setInterval(
        () => {
          const due = Math.floor(((Date.now() - started) / 1000) * eventsPerSecond) - appended;
          if (due <= 0) return;
          log.appendMany(due, { types: trickleOptions.types, seed: appended + 1 });
          appended += due;
          wakeAll();
        },
        Math.max(10, Math.floor(1000 / eventsPerSecond)),
      );
      trickles.add(timer);
      return () => {
        clearInterval(timer);
        trickles.delete(timer);
      };
    },
    async close() {
      for (const timer of trickles) clearInterval(timer);
      for (const conn of live) {
        conn.closed = true;
        clearInterval(conn.heartbeat);
        conn.wake?.();
      }
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Chunk sizes skewed small, so that splits land inside field names, line ends and UTF-8 sequences.
function splitter(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const r = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    return r < 0.3 ? 1 + Math.floor(r * 20) : r < 0.8 ? 1 + Math.floor(r * 400) : 1 + Math.floor(r * 3000);
  };
}
