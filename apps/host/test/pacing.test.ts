// Rate limits and circuit breakers on a host with its own state (SQLite), against receivers on 127.0.0.1
// that record when each request arrived.
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createEventFactory, type FakeServer, startFakeServer, waitFor } from "@switchyard/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { finishConfig } from "../src/config/load.js";
import type { SwitchyardConfigInput } from "../src/config/schema.js";
import { type Host, startHost } from "../src/host.js";
import { allowedIn, busiestWindow } from "./arrivals.js";
import { lineSink } from "./log-lines.js";
import { memorySource } from "./memory-source.js";

const factory = createEventFactory({ seed: 24 });
let dir: string;
let host: Host | undefined;
let servers: Array<{ close(): Promise<void> }> = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "switchyard-pacing-"));
});
afterEach(async () => {
  await host?.stop();
  host = undefined;
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
  rmSync(dir, { recursive: true, force: true });
});

async function receiver(): Promise<FakeServer> {
  const server = await startFakeServer(() => ({ status: 204 }));
  servers.push(server);
  return server;
}

/** Accepts connections and reads what is sent, but never answers: a destination that black-holes requests. */
async function blackHole() {
  const requests: number[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("data", (chunk) => {
      for (const _ of chunk.toString("latin1").matchAll(/^POST /gm)) requests.push(Date.now());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  servers.push({
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  });
  return { url: `http://127.0.0.1:${port}`, requests };
}

const http = (name: string, url: string, extra: Record<string, unknown> = {}) => ({
  name,
  plugin: "@switchyard/plugin-http",
  events: ["*"],
  with: { url },
  ...extra,
});

async function start(actions: SwitchyardConfigInput["actions"]) {
  const source = memorySource();
  const loaded = finishConfig(
    {
      source: { auth0: { domain: "unused.example", token: "t0ken" } },
      state: join(dir, "state"),
      server: { port: 0 },
      log: { level: "info" },
      actions,
    },
    join(dir, "switchyard.yaml"),
    {},
  );
  const logs: string[] = [];
  const sink = lineSink((line) => logs.push(line));
  host = await startHost(loaded, { source, logDestination: sink });
  const base = `http://127.0.0.1:${host.port}`;
  return {
    source,
    logs,
    metrics: async () => (await fetch(`${base}/metrics`)).text(),
    actions: async () =>
      ((await (await fetch(`${base}/api/actions`)).json()) as { actions: Array<Record<string, unknown>> })
        .actions,
  };
}

const idOf = (r: { json: unknown }) => (r.json as { id: string }).id;

describe("rate limits", () => {
  it("drains a backlog no faster than the limit, in order, while another action runs at full speed", async () => {
    const paced = await receiver();
    const free = await receiver();
    const limit = { perSecond: 20, burst: 1 };
    const host = await start([
      http("paced", paced.url, { rateLimit: { perSecond: 20 }, concurrency: 4, orderBy: "none" }),
      http("free", free.url),
    ]);
    const events = factory.many(100);
    host.source.push(...events);
    // The unlimited action is not held back by its neighbour's limit.
    await free.waitForRequests(100, undefined, 10_000);
    expect(paced.requests.length).toBeLessThan(60);
    await paced.waitForRequests(100, undefined, 15_000);

    const times = paced.requests.map((r) => r.receivedAt);
    expect(busiestWindow(times, 1000)).toBeLessThanOrEqual(allowedIn(limit, 1000));
    expect(busiestWindow(times, 2000)).toBeLessThanOrEqual(allowedIn(limit, 2000));
    // 100 at 20/s: the first at once, then one every 50 ms.
    expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual(99 * 50 - 20);
    expect(paced.requests.map(idOf)).toEqual(events.map((e) => e.id));

    const metrics = await host.metrics();
    expect(metrics).toMatch(/switchyard_pacing_wait_seconds_count\{action="paced"\} 100/);
    expect(metrics).toMatch(/switchyard_action_rate\{action="paced"\} [1-9]/);
    const [pacedView, freeView] = await host.actions();
    expect(pacedView).toMatchObject({ rateLimit: { limit: "20/s" } });
    expect(freeView).not.toHaveProperty("rateLimit");
  });

  it("lets a Retry-After win over a free token", async () => {
    const rx = await receiver();
    rx.failNext({ status: 429, headers: { "retry-after": "1" } });
    const host = await start([http("paced", rx.url, { rateLimit: { perSecond: 50, burst: 5 } })]);
    const [event] = factory.many(1);
    host.source.push(event!);
    const [first, second] = await rx.waitForRequests(2, undefined, 10_000);
    expect(second!.receivedAt - first!.receivedAt).toBeGreaterThanOrEqual(990);
  });
});

describe("circuit breaker", () => {
  it("probes a black hole once per cool-down while another action keeps its throughput", async () => {
    const hole = await blackHole();
    const free = await receiver();
    const coolDownMs = 1500;
    const host = await start([
      http("hole", hole.url, {
        concurrency: 1,
        timeoutMs: 250,
        circuitBreaker: { failures: 3, coolDownMs },
        retry: { maxAttempts: 50, initialDelayMs: 10, maxDelayMs: 10, factor: 1 },
      }),
      http("free", free.url),
    ]);
    host.source.push(...factory.many(40));
    // Three timeouts open it.
    await waitFor(() => hole.requests.length >= 3, { timeoutMs: 5_000 });
    await waitFor(async () =>
      (await host.metrics()).includes('switchyard_circuit_breaker_state{action="hole"} 1'),
    );
    const openedAt = hole.requests[2]! + 250;
    await free.waitForRequests(40, undefined, 5_000);
    // Two cool-downs and their probes.
    await waitFor(() => hole.requests.length >= 5, { timeoutMs: 10_000 });
    const probes = hole.requests.slice(3);
    expect(probes[0]! - openedAt).toBeGreaterThanOrEqual(coolDownMs - 50);
    expect(probes[1]! - probes[0]!).toBeGreaterThanOrEqual(coolDownMs + 250 - 50);
    const [view] = await host.actions();
    expect(["open", "half-open"]).toContain((view!.circuitBreaker as { state: string }).state);
    // Waiting deliveries kept their attempts: nothing was dead-lettered, and only the ones that ran were tried.
    expect(view!.deadLetters).toBe(0);
    expect(host.logs.some((l) => l.includes("circuit breaker opened"))).toBe(true);
  });

  it("closes on a successful probe, and works beside auto-pause", async () => {
    const rx = await receiver();
    rx.failAlways({ status: 503 });
    const host = await start([
      http("flaky", rx.url, {
        concurrency: 1,
        circuitBreaker: { failures: 2, coolDownMs: 200 },
        retry: { maxAttempts: 50, initialDelayMs: 10, maxDelayMs: 10, factor: 1 },
      }),
      http("doomed", `${rx.url}/doomed`, {
        concurrency: 1,
        circuitBreaker: { failures: 2, coolDownMs: 100 },
        retry: { maxAttempts: 50, initialDelayMs: 10, maxDelayMs: 10, factor: 1 },
        pauseAfterFailures: 4,
      }),
    ]);
    host.source.push(...factory.many(5));
    // Two 503s open each breaker; its probes fail too.
    await waitFor(() => rx.requests.filter((r) => r.path === "/").length >= 3, { timeoutMs: 5_000 });
    // The doomed action still pauses after 4 consecutive failed attempts (2, then two failed probes).
    await waitFor(async () => (await host.actions())[1]!.state === "paused", { timeoutMs: 5_000 });
    expect(rx.requests.filter((r) => r.path === "/doomed")).toHaveLength(4);
    rx.recover();
    await waitFor(
      () =>
        new Set(rx.requests.filter((r) => r.path === "/" && r.json).map(idOf)).size === 5 &&
        rx.requests.filter((r) => r.path === "/").length >= 5,
      { timeoutMs: 5_000 },
    );
    await waitFor(async () =>
      (await host.metrics()).includes('switchyard_circuit_breaker_state{action="flaky"} 0'),
    );
    await waitFor(async () => {
      const [view] = await host.actions();
      return (view!.circuitBreaker as { state: string }).state === "closed";
    });
  });
});
