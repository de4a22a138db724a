// Both of the host's servers under hostile and careless clients, through raw sockets: what a client sends
// can fail only its own request or connection, never the server.
import { connect, type Socket } from "node:net";
import { events, waitFor } from "@switchyard/testing";
import fc from "fast-check";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_LIMITS, type ServerLimits } from "./http-limits.js";
import { startOpsServer } from "./server.js";
import { startWebhookSource } from "./sources/webhook.js";

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const TOKEN = "hook-token-0123456789";
const closers: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

interface Target {
  name: string;
  port: number;
  registry: Registry;
  /** A request this server answers 2xx. */
  valid: string;
}

async function opsServer(limits: Partial<ServerLimits> = {}): Promise<Target> {
  const registry = new Registry();
  let throwing = false;
  const ops = await startOpsServer({
    host: "127.0.0.1",
    port: 0,
    registry,
    readiness: () => {
      if (throwing) throw new Error("readiness broke");
      throwing = true;
      return { ready: true, checks: {} };
    },
    limits,
  });
  closers.push(() => ops.close());
  return { name: "ops", port: ops.port, registry, valid: "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" };
}

async function webhook(limits: Partial<ServerLimits> = {}): Promise<Target> {
  const registry = new Registry();
  const source = await startWebhookSource(
    { port: 0, path: "/auth0/events", auth: { bearer: TOKEN }, ...limits },
    async () => ({ duplicates: 0 }),
    { log: quiet, registry },
  );
  closers.push(() => source.close());
  const body = JSON.stringify(events.userCreated());
  return {
    name: "webhook",
    port: source.port,
    registry,
    valid: `POST /auth0/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  };
}

interface Exchange {
  socket: Socket;
  /** Everything the server sent so far. */
  received(): string;
  /** Resolves when the server (or an error) closed the connection. */
  closed: Promise<void>;
}

function open(port: number, payload = ""): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    let text = "";
    const socket = connect(port, "127.0.0.1");
    const closed = new Promise<void>((done) => socket.on("close", () => done()));
    socket.on("data", (chunk) => {
      text += chunk.toString("latin1");
    });
    socket.on("error", () => {});
    socket.once("connect", () => {
      if (payload) socket.write(payload);
      resolve({ socket, received: () => text, closed });
    });
    socket.once("error", reject);
  });
}

/** Send `payload` on a new connection and return the status line of the first answer. */
async function exchange(port: number, payload: string): Promise<string> {
  const { socket, received, closed } = await open(port, payload);
  try {
    await Promise.race([waitFor(() => /\r\n\r\n/.test(received())), closed]);
    return received().split("\r\n")[0] ?? "";
  } finally {
    socket.destroy();
  }
}

const metric = async (registry: Registry, name: string, labels: string) => {
  const text = await registry.metrics();
  const line = text.split("\n").find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(" ").at(-1)) : 0;
};

describe.each([
  ["ops", opsServer],
  ["webhook", webhook],
] as const)("the %s server", (name, start) => {
  it("answers a request target that is not a URL with 400, and stays up", async () => {
    const server = await start();
    for (const target of ["http://x:99999/", "http://[::1/", "//%zz", "http://a b/"]) {
      const status = await exchange(server.port, `GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n`);
      expect(status, target).toMatch(/^HTTP\/1\.1 (400|404)/);
    }
    expect(await exchange(server.port, server.valid)).toMatch(/^HTTP\/1\.1 200/);
  });

  it("answers headers over 16 KB with 431, and stays up", async () => {
    const server = await start();
    const status = await exchange(
      server.port,
      `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`,
    );
    expect(status).toMatch(/^HTTP\/1\.1 431/);
    expect(await exchange(server.port, server.valid)).toMatch(/^HTTP\/1\.1 200/);
  });

  it("closes a connection that sends nothing, or never finishes its headers, with 408", async () => {
    const server = await start({ headersTimeoutMs: 1_000, requestTimeoutMs: 2_000 });
    const idle = await open(server.port);
    const partial = await open(server.port, "POST /auth0/events HTTP/1.1\r\nHost: x\r\n");
    await Promise.all([idle.closed, partial.closed]);
    expect(idle.received()).toMatch(/^HTTP\/1\.1 408/);
    expect(partial.received()).toMatch(/^HTTP\/1\.1 408/);
    const counted = name === "ops" ? "switchyard_ops_refused_total" : "switchyard_webhook_refused_total";
    expect(await metric(server.registry, counted, 'reason="timeout"')).toBeGreaterThanOrEqual(2);
  });

  it("caps connections open at once, counts the refused ones, and serves again once they close", async () => {
    const server = await start({ maxConnections: 3 });
    const held = await Promise.all([open(server.port), open(server.port), open(server.port)]);
    const extra = await open(server.port);
    await extra.closed;
    expect(extra.received()).toBe("");
    const counted = name === "ops" ? "switchyard_ops_refused_total" : "switchyard_webhook_refused_total";
    const reason = name === "ops" ? "limit" : "too_many_connections";
    expect(await metric(server.registry, counted, `reason="${reason}"`)).toBe(1);
    for (const { socket } of held) socket.destroy();
    await waitFor(async () => /^HTTP\/1\.1 200/.test(await exchange(server.port, server.valid)));
  });

  it("survives any request line and headers a client can send (fuzzed)", async () => {
    const server = await start();
    const token = fc.stringMatching(/^[\x21-\x7e]{0,40}$/);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("GET", "POST", "HEAD", "OPTIONS", "DELETE", "BREW", ""),
        fc.oneof(
          token,
          fc.constantFrom("http://x:99999/", "/api/events/%E0%A4%A", "/api/%00", "*", "/auth0/events"),
        ),
        fc.array(fc.tuple(token, fc.string({ maxLength: 60 })), { maxLength: 4 }),
        fc.oneof(fc.constant(""), fc.string({ maxLength: 200 })),
        async (method, target, headers, body) => {
          const lines = headers.map(([k, v]) => `${k}: ${v.replace(/[\r\n]/g, " ")}`);
          const payload = `${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n${lines.join("\r\n")}${lines.length ? "\r\n" : ""}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
          const status = await exchange(server.port, payload);
          // An answer, or a closed connection: never a 5xx from a client's bytes.
          expect(status).not.toMatch(/^HTTP\/1\.1 5/);
        },
      ),
      { numRuns: 60, seed: 21 },
    );
    expect(await exchange(server.port, server.valid)).toMatch(/^HTTP\/1\.1 200/);
  });
});

describe("a handler that throws", () => {
  it("fails only that request, with 500, on the ops server", async () => {
    const server = await opsServer();
    expect(await exchange(server.port, "GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")).toMatch(/ 200/);
    expect(await exchange(server.port, "GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")).toMatch(/ 500/);
    expect(await exchange(server.port, server.valid)).toMatch(/^HTTP\/1\.1 200/);
  });
});

describe("Expect: 100-continue on the webhook", () => {
  it("is answered only once the credentials have passed", async () => {
    const server = await webhook();
    const body = JSON.stringify(events.userCreated());
    const head = (auth: string) =>
      `POST /auth0/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${auth}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nExpect: 100-continue\r\n\r\n`;
    const refused = await open(server.port, head("wrong-token-000000"));
    await waitFor(() => /\r\n\r\n/.test(refused.received()));
    expect(refused.received()).toMatch(/^HTTP\/1\.1 401/);
    refused.socket.destroy();

    const accepted = await open(server.port, head(TOKEN));
    await waitFor(() => /^HTTP\/1\.1 100 Continue\r\n\r\n/.test(accepted.received()));
    accepted.socket.write(body);
    await waitFor(() => /HTTP\/1\.1 200/.test(accepted.received()));
    accepted.socket.destroy();
  });
});

it("keeps the documented defaults", () => {
  expect(DEFAULT_LIMITS).toEqual({
    headersTimeoutMs: 30_000,
    requestTimeoutMs: 60_000,
    maxConnections: 1_000,
  });
});
