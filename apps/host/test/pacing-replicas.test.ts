// A rate limit shared by two replicas on one Postgres state: together they send no more than it allows, and
// a backlog drains at the full limit (the budget is shared: neither doubled nor halved). Circuit breakers,
// each replica's own, are seen by every replica's admin API and by `switchyard actions list`.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { createEventFactory, type FakeServer, startFakeServer, waitFor } from "@switchyard/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { finishConfig } from "../src/config/load.js";
import type { SwitchyardConfigInput } from "../src/config/schema.js";
import { type Host, startHost } from "../src/host.js";
import type { ActionSummary } from "../src/operations.js";
import { allowedIn, busiestWindow } from "./arrivals.js";
import { runCli } from "./cli.js";
import { memorySource } from "./memory-source.js";
import { createTestSchema, postgresAvailable, type TestSchema } from "./postgres.js";

const available = await postgresAvailable();
const factory = createEventFactory({ seed: 42 });
let dir: string;
let schema: TestSchema;
let hosts: Host[] = [];
let rx: FakeServer | undefined;

beforeEach(async () => {
  if (!available) return;
  dir = mkdtempSync(join(tmpdir(), "switchyard-pacing-replicas-"));
  schema = await createTestSchema();
});
afterEach(async () => {
  if (!available) return;
  await Promise.all(hosts.map((h) => h.stop()));
  hosts = [];
  await rx?.close();
  await schema.drop();
  rmSync(dir, { recursive: true, force: true });
});

/** A replica whose action posts to `path` on the receiver, so that each replica's share shows. */
async function replica(source: ReturnType<typeof memorySource>, url: string, limit: Record<string, number>) {
  return start(source, [
    {
      name: "paced",
      plugin: "@switchyard/plugin-http",
      events: ["*"],
      with: { url },
      orderBy: "none",
      concurrency: 4,
      rateLimit: limit,
    },
  ]);
}

async function start(source: ReturnType<typeof memorySource>, actions: SwitchyardConfigInput["actions"]) {
  const loaded = finishConfig(
    {
      source: { auth0: { domain: "unused.example", token: "t0ken" } },
      state: schema.url,
      server: { port: 0 },
      log: { level: "warn" },
      delivery: { leaseMs: 600, shutdownGraceMs: 1000 },
      actions,
    },
    join(dir, "switchyard.yaml"),
    {},
  );
  const sink = new Writable({ write: (_chunk, _encoding, callback) => callback() });
  const host = await startHost(loaded, { source, logDestination: sink });
  hosts.push(host);
  return host;
}

/** Until this replica holds the stream lease. */
const leads = (host: Host) =>
  waitFor(async () => {
    const ready = (await (await fetch(`http://127.0.0.1:${host.port}/readyz`)).json()) as {
      checks: { leader: boolean };
    };
    return ready.checks.leader;
  });

describe.skipIf(!available)("circuit breakers of replicas on one Postgres state", () => {
  it("each replica's breaker shows in every replica's admin API and in `actions list`, the worst first", async () => {
    rx = await startFakeServer(() => ({ status: 204 }));
    rx.failAlways({ status: 503 });
    const crm = (path: string) => [
      {
        name: "crm",
        plugin: "@switchyard/plugin-http",
        events: ["*"],
        with: { url: `${rx!.url}/${path}` },
        concurrency: 1,
        circuitBreaker: { failures: 2, coolDownMs: 60_000 },
        retry: { maxAttempts: 50, initialDelayMs: 10, maxDelayMs: 10, factor: 1 },
      },
    ];
    const source = memorySource();
    // The leader holds what it reads, so its breaker is the one the failures open.
    const leader = await start(source, crm("a"));
    await leads(leader);
    const standby = await start(source, crm("b"));
    source.push(...factory.many(3));
    type View = { name: string; circuitBreaker: { state: string; replicas: Array<{ replica: string }> } };
    const view = async (host: Host) =>
      ((await (await fetch(`http://127.0.0.1:${host.port}/api/actions`)).json()) as { actions: View[] })
        .actions[0]!.circuitBreaker;
    const leaderId = (await (await fetch(`http://127.0.0.1:${leader.port}/api/status`)).json()) as {
      replica: string;
    };
    await waitFor(async () => (await view(standby)).replicas.length === 1, { timeoutMs: 15_000 });
    // The standby's own breaker is closed; the leader's, open, is listed beside it (the console shows the worst).
    expect(await view(standby)).toMatchObject({
      state: "closed",
      replicas: [{ replica: leaderId.replica, state: "open" }],
    });
    expect(await view(leader)).toMatchObject({ state: "open", replicas: [{ replica: leaderId.replica }] });

    writeFileSync(
      join(dir, "switchyard.yaml"),
      `source: { auth0: { domain: unused.example, token: t0ken } }\nstate: ${JSON.stringify(schema.url)}\nactions:\n  - { name: crm, plugin: "@switchyard/plugin-http", events: ["*"], with: { url: "${rx.url}/a" }, circuitBreaker: { failures: 2, coolDownMs: 60000 } }\n`,
    );
    const run = await runCli(["actions", "list", "--json", "--config", join(dir, "switchyard.yaml")]);
    expect(run.code, run.stderr).toBe(0);
    const [listed] = JSON.parse(run.stdout) as ActionSummary[];
    expect(listed!.circuit).toMatchObject({
      state: "open",
      replicas: [{ replica: leaderId.replica, state: "open" }],
    });
  });
});

describe.skipIf(!available)("a rate limit shared by replicas on one Postgres state", () => {
  it("two replicas drain a backlog at the limit together, never above it", async () => {
    rx = await startFakeServer(() => ({ status: 204 }));
    const limit = { perSecond: 10, burst: 1 };
    const source = memorySource();
    const leader = await replica(source, `${rx.url}/a`, { perSecond: 10 });
    await waitFor(async () => {
      const ready = (await (await fetch(`http://127.0.0.1:${leader.port}/readyz`)).json()) as {
        checks: { leader: boolean };
      };
      return ready.checks.leader;
    });
    await replica(source, `${rx.url}/b`, { perSecond: 10 });
    const events = factory.many(60);
    source.push(...events);
    await rx.waitForRequests(60, undefined, 20_000);

    const times = rx.requests.map((r) => r.receivedAt);
    expect(busiestWindow(times, 1000)).toBeLessThanOrEqual(allowedIn(limit, 1000));
    expect(busiestWindow(times, 2000)).toBeLessThanOrEqual(allowedIn(limit, 2000));
    // One budget for both: 60 at 10/s take about 6 s (3 s if each replica had its own, 12 s if halved).
    const drainMs = times.at(-1)! - times[0]!;
    expect(drainMs).toBeGreaterThanOrEqual(59 * 100 - 50);
    expect(drainMs).toBeLessThan(9_000);
    // Both replicas delivered: the leader reads ahead into the store, where the other claims its share.
    const byPath = (path: string) => rx!.requests.filter((r) => r.path === path).length;
    expect(byPath("/a")).toBeGreaterThan(0);
    expect(byPath("/b")).toBeGreaterThan(0);
    expect(new Set(rx.requests.map((r) => (r.json as { id: string }).id)).size).toBe(60);
  });
});
