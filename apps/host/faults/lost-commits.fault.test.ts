// The lost answer to a COMMIT: one host on PostgreSQL, its connections through a fault proxy that now and then
// cuts a connection once the server has answered a COMMIT, before the answer reaches the host. The host cannot
// tell from the error whether its write took effect; the ones that did (an ingest whose cursor moved on, a
// claim) must not leave deliveries in flight on this live replica with no runner to run them. Every event
// must arrive, and nothing may be left in the store. `pnpm test:faults`.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createEventFactory,
  startFakeTenant,
  startFakeWebhook,
  startFaultProxy,
  waitFor,
} from "@switchyard/testing";
import { afterEach, describe, expect, it } from "vitest";
import { createTestSchema, postgresAvailable } from "../test/postgres.js";
import { cleanupList, seededRandom, sleep, startReplica, writePostgresConfig } from "./harness.js";

const seed = Number(process.env.FAULT_SEED ?? 20261206);
const random = seededRandom(seed);
const cleanup = cleanupList();
afterEach(() => cleanup.run());

describe.skipIf(!(await postgresAvailable()))("fault suite: lost COMMIT answers on PostgreSQL", () => {
  it(`delivers every event and strands nothing when COMMIT answers are lost (seed ${seed})`, async () => {
    const dir = mkdtempSync(join(tmpdir(), "switchyard-lost-commits-"));
    cleanup.add(() => rmSync(dir, { recursive: true, force: true }));
    const schema = await createTestSchema();
    cleanup.add(() => schema.drop());
    const server = new URL(schema.url);
    const proxy = await startFaultProxy({ host: server.hostname, port: Number(server.port || 5432) });
    cleanup.add(() => proxy.close());
    server.host = proxy.address;

    const tenant = await startFakeTenant({ heartbeatMs: 200 });
    cleanup.add(() => tenant.close());
    const events = createEventFactory({ seed }).many(600);
    const arrived = new Set<string>();
    // Some failures, so that retries come back through claims as well as through held deliveries.
    const receiver = await startFakeWebhook({
      reply: (request) => {
        if (random() < 0.1) return { status: 503 };
        arrived.add(String(request.headers["webhook-id"]));
        return { status: 204 };
      },
    });
    cleanup.add(() => receiver.close());

    const config = writePostgresConfig(
      dir,
      tenant,
      `delivery: { leaseMs: 1000 }
actions:
  - name: hook
    plugin: "@switchyard/plugin-http"
    events: ["*"]
    with: { url: "${receiver.url}/in" }
    retry: { maxAttempts: 100, initialDelayMs: 20, maxDelayMs: 200 }
`,
    );
    const host = await startReplica(
      config,
      { TENANT_SECRET: tenant.clientSecret, STATE_URL: server.toString() },
      "solo",
      cleanup,
    );

    // Feed the events in small batches, a cut armed before each, so that cuts land on ingests (whose cursor
    // moves past their events), claims and results alike.
    let cuts = 0;
    for (let fed = 0; fed < events.length; fed += 20) {
      const cut = proxy.cutAfterAnswer("COMMIT");
      tenant.append(events.slice(fed, fed + 20));
      await cut;
      cuts++;
      await sleep(random() * 40);
    }
    expect(cuts).toBe(events.length / 20);

    await waitFor(() => events.every((e) => arrived.has(e.id)), {
      timeoutMs: 30_000,
      intervalMs: 100,
      message: "every event delivered",
    }).catch((error: Error) => {
      const missing = events.filter((e) => !arrived.has(e.id)).length;
      const warnings = host.cli
        .logs()
        .filter((line) => line.level === "warn" || line.level === "error" || line.level === "fatal")
        .map((line) => String(line.msg));
      throw new Error(
        `${error.message}: ${missing} missing; the host's last warnings: ${warnings.slice(-5).join(" | ")}`,
      );
    });
    // Nothing left behind: delivered rows are deleted, none stays in flight on the live replica.
    await waitFor(
      async () => (await schema.sql<{ n: number }>("SELECT count(*)::int AS n FROM deliveries"))[0]!.n === 0,
      { timeoutMs: 10_000, message: "no delivery left in the store" },
    );
  });
});
