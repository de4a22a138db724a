// A rate limit shared by two replicas on one Postgres state: together they send no more than it allows, and
// a backlog drains at the full limit (the budget is shared: neither doubled nor halved).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { createEventFactory, type FakeServer, startFakeServer, waitFor } from "@switchyard/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { finishConfig } from "../src/config/load.js";
import type { SwitchyardConfigInput } from "../src/config/schema.js";
import { type Host, startHost } from "../src/host.js";
import { allowedIn, busiestWindow } from "./arrivals.js";
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
  const actions: SwitchyardConfigInput["actions"] = [
    {
      name: "paced",
      plugin: "@switchyard/plugin-http",
      events: ["*"],
      with: { url },
      orderBy: "none",
      concurrency: 4,
      rateLimit: limit,
    },
  ];
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
