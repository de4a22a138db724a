// A circuit breaker's live state reaches `switchyard actions list`, a separate process reading the state: a
// real host (a child process) trips its breaker on a failing destination, the CLI shows it open on that
// replica, then closed once the destination is back, on both engines. A replica SIGKILLed with its breaker
// open is not believed past its liveness.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createEventFactory,
  type FakeServer,
  type FakeTenant,
  startFakeServer,
  startFakeTenant,
  waitFor,
} from "@switchyard/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ActionSummary } from "../src/operations.js";
import { type CliProcess, runCli, startCli, tenantEnv } from "./cli.js";
import { createTestSchema, postgresAvailable, type TestSchema } from "./postgres.js";

const available = await postgresAvailable();
const factory = createEventFactory({ seed: 124 });
let dir: string;
let config: string;
let tenant: FakeTenant;
let failing: FakeServer;
let fine: FakeServer;
let env: NodeJS.ProcessEnv;
let running: CliProcess[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "switchyard-breaker-state-"));
  config = join(dir, "switchyard.yaml");
  tenant = await startFakeTenant({ heartbeatMs: 500 });
  failing = await startFakeServer();
  fine = await startFakeServer();
  env = {
    ...tenantEnv(tenant),
  };
});
afterEach(async () => {
  for (const cli of running) cli.child.kill("SIGKILL");
  await Promise.all(running.map((cli) => cli.exited));
  running = [];
  await Promise.all([tenant.close(), failing.close(), fine.close()]);
  rmSync(dir, { recursive: true, force: true });
});

function writeConfig(state: string, extra = ""): void {
  const lines = [
    "source:",
    '  auth0: { domain: "${AUTH0_DOMAIN}", clientId: "${AUTH0_CLIENT_ID}", clientSecret: "${AUTH0_CLIENT_SECRET}" }',
    `state: ${JSON.stringify(state)}`,
    "server: { port: 0 }",
    extra,
    "actions:",
    "  - name: crm",
    '    plugin: "@switchyard/plugin-http"',
    '    events: ["*"]',
    `    with: { url: "${failing.url}/crm" }`,
    "    concurrency: 1",
    "    circuitBreaker: { failures: 2, coolDownMs: 3000 }",
    "    retry: { maxAttempts: 50, initialDelayMs: 10, maxDelayMs: 10, factor: 1 }",
    "  - name: audit",
    '    plugin: "@switchyard/plugin-http"',
    '    events: ["*"]',
    `    with: { url: "${fine.url}/audit" }`,
  ];
  writeFileSync(config, `${lines.join("\n")}\n`);
}

/** `switchyard actions list --json`, in its own process, with no replica id of its own. */
async function list(): Promise<ActionSummary[]> {
  const run = await runCli(["actions", "list", "--json", "--config", config], env, dir);
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as ActionSummary[];
}
const crm = async () => (await list()).find((a) => a.name === "crm")!;

/** Start a host as `switchyard start` does, as replica `replica`, and wait until it reads the stream. */
async function startReplica(replica: string): Promise<{ host: CliProcess; consoleUrl: string }> {
  const host = startCli(["start", "--config", config], { ...env, SWITCHYARD_REPLICA_ID: replica }, dir);
  running.push(host);
  const consoleUrl = String((await host.waitForLog("switchyard started")).console);
  await host.waitForLog("stream connected");
  return { host, consoleUrl };
}

/** Trip the breaker of `crm` on replica `replica`; resolves with what `actions list` shows of it, open. */
async function trip(replica: string) {
  failing.failAlways({ status: 503 });
  const started = await startReplica(replica);
  tenant.append(factory.many(5));
  await started.host.waitForLog(/^circuit breaker opened/);
  // The other action is unaffected.
  await fine.waitForRequests(5, undefined, 10_000);
  const opened = await waitFor(
    async () => {
      const a = await crm();
      return a.circuit?.state === "open" ? a : undefined;
    },
    { timeoutMs: 15_000, message: "actions list showing the breaker open" },
  );
  return { ...started, opened };
}

/** A failing destination trips the breaker; the CLI shows it open on the replica, then closed after recovery. */
async function tripAndRecover(): Promise<void> {
  const { host, consoleUrl, opened } = await trip("r1");
  expect(opened.circuit!.replicas).toEqual([
    { replica: "r1", state: "open", since: expect.any(String), until: expect.any(String) },
  ]);
  // Until the end of the cool-down that opened it (or of a later one, after a failed probe).
  expect(Date.parse(opened.circuit!.replicas[0]!.until!)).toBeGreaterThan(
    Date.parse(opened.circuit!.replicas[0]!.since),
  );
  expect((await list()).find((a) => a.name === "audit")).not.toHaveProperty("circuit");
  const text = await runCli(["actions", "list", "--config", config], env, dir);
  expect(text.stdout).toMatch(
    /^crm .* running, circuit (open until \d\d:\d\d:\d\dZ|half-open) \(replica r1\) \[breaker: 2 failures, 3000 ms cool-down\]/m,
  );
  // The admin API (and so the console) lists it too.
  const api = (await (await fetch(`${consoleUrl}api/actions`)).json()) as {
    actions: Array<{ name: string; circuitBreaker?: { replicas: Array<{ replica: string }> } }>;
  };
  expect(api.actions.find((a) => a.name === "crm")!.circuitBreaker!.replicas).toMatchObject([
    { replica: "r1" },
  ]);

  // The destination is back: the next probe succeeds and closes the breaker; the waiting deliveries go.
  failing.recover();
  await host.waitForLog("circuit breaker closed: delivering again");
  await waitFor(
    () =>
      new Set(failing.requests.filter((r) => r.json).map((r) => (r.json as { id: string }).id)).size === 5,
    {
      timeoutMs: 10_000,
      message: "the waiting deliveries",
    },
  );
  expect(await crm()).toMatchObject({ circuit: { state: "closed", replicas: [] }, dead: 0 });
  const closed = await runCli(["actions", "list", "--config", config], env, dir);
  expect(closed.stdout).toMatch(
    /^crm .* running, circuit closed \[breaker: 2 failures, 3000 ms cool-down\]/m,
  );
}

describe("a circuit breaker's live state in `switchyard actions list`", () => {
  it("sqlite: open on the host while its destination fails, closed once a probe succeeds", async () => {
    writeConfig("./state");
    await tripAndRecover();
  });

  describe.skipIf(!available)("postgres", () => {
    let schema: TestSchema;
    beforeEach(async () => {
      schema = await createTestSchema();
    });
    afterEach(async () => {
      await schema.drop();
    });

    it("open on the replica while its destination fails, closed once it stops", async () => {
      writeConfig(schema.url, "delivery: { leaseMs: 600 }");
      await tripAndRecover();
    });

    it("forgets the open breaker of a replica SIGKILLed, once its liveness expires", async () => {
      writeConfig(schema.url, "delivery: { leaseMs: 600 }");
      const { host } = await trip("doomed");
      host.child.kill("SIGKILL");
      await host.exited;
      // Its record is still there; its liveness (3 leases: 1.8 s) is not renewed.
      expect(await schema.sql("SELECT replica, state FROM breakers")).toMatchObject([{ replica: "doomed" }]);
      await waitFor(async () => (await crm()).circuit?.state === "closed", {
        timeoutMs: 15_000,
        message: "the dead replica's breaker forgotten",
      });
      // A replica that starts removes the dead one's record (its destination is back: its own stays closed).
      failing.recover();
      await startReplica("next");
      await waitFor(async () => (await schema.sql("SELECT replica FROM breakers")).length === 0, {
        timeoutMs: 10_000,
      });
    });
  });
});
