// The rate-limit fault test (issue 24's check): two real host processes on one PostgreSQL schema drain a
// backlog of 300 events through an action limited to 5 per second. No 10 s window at the receiver may hold
// more than 51 deliveries (5 × 10 + the burst of 1), and the drain takes about 60 s, not 120: the budget is
// shared by the replicas, neither multiplied nor halved. About 70 s. `pnpm test:faults`.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createEventFactory, startFakeServer, startFakeTenant, waitFor } from "@switchyard/testing";
import { afterEach, describe, expect, it } from "vitest";
import { allowedIn, busiestWindow } from "../test/arrivals.js";
import { startCli } from "../test/cli.js";
import { createTestSchema, postgresAvailable } from "../test/postgres.js";
import { cleanupList, writePostgresConfig } from "./harness.js";

const EVENTS = 300;
const LIMIT = { perSecond: 5, burst: 1 };

const cleanup = cleanupList();
afterEach(() => cleanup.run());

describe.skipIf(!(await postgresAvailable()))("fault suite: a rate limit shared by replicas", () => {
  it(`two replicas drain ${EVENTS} events at ${LIMIT.perSecond}/s together`, async () => {
    const dir = mkdtempSync(join(tmpdir(), "switchyard-rate-faults-"));
    cleanup.add(() => rmSync(dir, { recursive: true, force: true }));
    const schema = await createTestSchema();
    cleanup.add(() => schema.drop());
    const tenant = await startFakeTenant({ heartbeatMs: 200 });
    cleanup.add(() => tenant.close());
    const rx = await startFakeServer(() => ({ status: 204 }));
    cleanup.add(() => rx.close());

    const config = writePostgresConfig(
      dir,
      tenant,
      `delivery: { shutdownGraceMs: 2000, leaseMs: 1000 }
actions:
  - name: paced
    plugin: "@switchyard/plugin-http"
    events: ["*"]
    with: { url: "${rx.url}/in", headers: { x-replica: "\${REPLICA}" } }
    rateLimit: { perSecond: ${LIMIT.perSecond} }
`,
    );
    const env = { TENANT_SECRET: tenant.clientSecret, STATE_URL: schema.url };
    const start = async (name: string) => {
      const cli = startCli(["start", "--config", config], { ...env, REPLICA: name });
      cleanup.add(async () => {
        cli.child.kill("SIGKILL");
        await cli.exited;
      });
      await cli.waitForLog("switchyard started", 30_000);
    };
    await start("a");
    await start("b");

    // The backlog is there before either replica can drain much of it.
    tenant.append(createEventFactory({ seed: 2024 }).many(EVENTS));
    await rx.waitForRequests(EVENTS, undefined, 150_000);

    const times = rx.requests.map((r) => r.receivedAt);
    const busiest = busiestWindow(times, 10_000);
    expect(busiest).toBeLessThanOrEqual(allowedIn(LIMIT, 10_000));
    const drainMs = times.at(-1)! - times[0]!;
    expect(drainMs).toBeGreaterThanOrEqual(((EVENTS - LIMIT.burst) / LIMIT.perSecond) * 1000 - 200);
    expect(drainMs).toBeLessThan(75_000);
    // Both replicas sent a share, each event once.
    const by = (replica: string) => rx.requests.filter((r) => r.headers["x-replica"] === replica).length;
    expect(by("a")).toBeGreaterThan(0);
    expect(by("b")).toBeGreaterThan(0);
    await waitFor(() => rx.requests.length === EVENTS, { timeoutMs: 1000 });
    expect(new Set(rx.requests.map((r) => (r.json as { id: string }).id)).size).toBe(EVENTS);
    console.log(
      `rate-limit fault: ${EVENTS} events in ${(drainMs / 1000).toFixed(1)} s, busiest 10 s window ${busiest} (a ${by("a")}, b ${by("b")})`,
    );
  });
});
