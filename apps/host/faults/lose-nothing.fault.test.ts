// The fault suite: the real host process against a hostile fake tenant and flaky destinations, killed with
// SIGKILL at random moments, tries hard to lose an event. `pnpm test:faults`.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Auth0Event } from "@switchyard/core";
import {
  createEventFactory,
  type FakeTenant,
  type FakeWebhook,
  startFakeTenant,
  startFakeWebhook,
  waitFor,
} from "@switchyard/testing";
import { afterEach, describe, expect, it } from "vitest";
import { type CliProcess, runCli, startCli } from "../test/cli.js";
import { cleanupList, seededRandom, sleep } from "./harness.js";

const seed = Number(process.env.FAULT_SEED ?? 20261127);
const random = seededRandom(seed);

const cleanup = cleanupList();
afterEach(() => cleanup.run());

function workdir(): string {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-faults-"));
  cleanup.add(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function hostProcess(config: string, env: NodeJS.ProcessEnv, shellPrefix?: string): CliProcess {
  const cli = startCli(["start", "--config", config], env, undefined, shellPrefix ? { shellPrefix } : {});
  cleanup.add(() => cli.child.kill("SIGKILL"));
  return cli;
}

const okIds = (hook: FakeWebhook, ok: Set<string>) => hook.deliveries.filter((d) => d.id && ok.has(d.id));

describe("fault suite: nothing is lost", () => {
  it(`survives SIGKILLs, a hostile stream and flaky destinations (seed ${seed})`, async () => {
    const dir = workdir();
    const tenant: FakeTenant = await startFakeTenant({
      cutEvery: 137,
      rotateEvery: 311,
      tokenTtlSeconds: 2,
      splitFrames: { seed },
      heartbeatMs: 200,
    });
    cleanup.add(() => tenant.close());

    const factory = createEventFactory({ seed });
    // Every known type in turn, with a type this version does not know now and then.
    const events: Auth0Event[] = factory
      .many(1_500)
      .map((event, i) =>
        i % 97 === 0 ? factory.event("session.revoked", { object: { id: `ses_${i}` } }) : event,
      );
    const poisoned = new Set(events.filter((_, i) => i % 101 === 50).map((e) => e.id));

    // A destination that fails in every way a destination can, and one that is down for a while.
    const delivered = {
      flaky: new Map<string, number>(),
      users: new Map<string, number>(),
      members: new Map<string, number>(),
    };
    const count = (map: Map<string, number>, id: string) => map.set(id, (map.get(id) ?? 0) + 1);
    let down = false;
    const flaky = await startFakeWebhook({
      reply: async (request) => {
        const id = String(request.headers["webhook-id"]);
        if (poisoned.has(id)) return { status: 400, body: "invalid payload" };
        if (down) return { status: 503 };
        const roll = random();
        if (roll < 0.15) return { status: 503 };
        if (roll < 0.2) return { status: 429, headers: { "retry-after": "0" } };
        if (roll < 0.23) {
          // Slower than the plugin's 400 ms timeout: the host gives up on it and retries (a duplicate).
          await sleep(700);
          count(delivered.flaky, id);
          return { status: 204 };
        }
        count(delivered.flaky, id);
        return { status: 204 };
      },
    });
    const users = await startFakeWebhook({
      reply: (request) => {
        count(delivered.users, String(request.headers["webhook-id"]));
        return { status: 204 };
      },
    });
    const members = await startFakeWebhook({
      reply: (request) => {
        count(delivered.members, String(request.headers["webhook-id"]));
        return { status: 204 };
      },
    });
    cleanup.add(() => Promise.all([flaky.close(), users.close(), members.close()]));

    const config = join(dir, "switchyard.yaml");
    writeFileSync(
      config,
      `source:
  auth0: { domain: "${tenant.url}", clientId: "${tenant.clientId}", clientSecret: "\${TENANT_SECRET}", fromTimestamp: "2026-01-01T00:00:00Z" }
state: ./state
server: { port: 0 }
delivery: { shutdownGraceMs: 2000 }
actions:
  - name: flaky
    plugin: "@switchyard/plugin-http"
    events: ["*"]
    with: { url: "${flaky.url}/in", timeoutMs: 400 }
    timeoutMs: 1000
    retry: { maxAttempts: 100, initialDelayMs: 20, maxDelayMs: 300 }
    pauseAfterFailures: 0 # down for a while on purpose: this suite is about losing nothing, not pausing
  - name: users
    plugin: "@switchyard/plugin-http"
    events: ["user.*"]
    with: { url: "${users.url}/in" }
  - name: members
    plugin: "@switchyard/plugin-http"
    events: ["organization.member.*"]
    orderBy: user
    with: { url: "${members.url}/in" }
`,
    );
    const env = { TENANT_SECRET: tenant.clientSecret };

    // Feed the stream in chunks while killing the host at random moments.
    let fed = 0;
    const feed = (n: number) => {
      const chunk = events.slice(fed, fed + n);
      fed += chunk.length;
      if (chunk.length) tenant.append(chunk);
    };
    const kills = 12;
    for (let k = 0; k < kills; k++) {
      const host = hostProcess(config, env);
      feed(100);
      if (k % 3 === 1) tenant.injectMalformed("bad-json");
      if (k % 3 === 2) tenant.injectMalformed("garbage-bytes");
      if (k === 5) tenant.revokeTokens();
      if (k === 6) down = true;
      if (k === 8) down = false;
      await sleep(2_000 + random() * 1_500);
      host.child.kill("SIGKILL");
      await host.exited;
    }
    down = false;
    feed(events.length);

    // The last run must finish the job.
    const last = hostProcess(config, env);
    const everyone = new Set(events.map((e) => e.id));
    const wanted = {
      flaky: new Set([...everyone].filter((id) => !poisoned.has(id))),
      users: new Set(events.filter((e) => e.type.startsWith("user.")).map((e) => e.id)),
      members: new Set(events.filter((e) => e.type.startsWith("organization.member.")).map((e) => e.id)),
    };
    const complete = () =>
      (Object.keys(wanted) as Array<keyof typeof wanted>).every((name) =>
        [...wanted[name]].every((id) => delivered[name].has(id)),
      );
    const missing = () =>
      Object.fromEntries(
        (Object.keys(wanted) as Array<keyof typeof wanted>).map((name) => [
          name,
          [...wanted[name]].filter((id) => !delivered[name].has(id)),
        ]),
      );
    try {
      await waitFor(complete, {
        timeoutMs: 120_000,
        intervalMs: 200,
        message: "every event at every matching action",
      });
    } catch (error) {
      const lost = missing();
      const types = Object.fromEntries(
        Object.entries(lost).map(([name, ids]) => [
          name,
          ids.slice(0, 5).map((id) => `${id}:${events.find((e) => e.id === id)?.type}`),
        ]),
      );
      const { default: Database } = await import("better-sqlite3");
      const db = new Database(join(dir, "state", "switchyard.db"), { readonly: true });
      const where = lost.flaky!.slice(0, 50).map((id) => {
        const row = db
          .prepare(
            "SELECT e.id, d.status, d.attempts, d.due_at, d.last_error FROM events e LEFT JOIN deliveries d ON d.event = e.id AND d.action = 1 WHERE e.event_id = ?",
          )
          .get(id);
        return row ?? "not stored";
      });
      console.log(
        "missing flaky deliveries in the store:",
        JSON.stringify(where.slice(0, 10)),
        "indexes:",
        lost.flaky!.map((id) => events.findIndex((e) => e.id === id)).join(","),
      );
      console.log(
        "actions:",
        JSON.stringify(db.prepare("SELECT * FROM actions").all()),
        "cursor",
        JSON.stringify(db.prepare("SELECT * FROM meta").all()),
      );
      db.close();
      throw new Error(
        `${(error as Error).message}; missing ${JSON.stringify(Object.fromEntries(Object.entries(lost).map(([k, v]) => [k, v.length])))} e.g. ${JSON.stringify(types)}`,
      );
    }

    // Nothing where it does not belong.
    expect(new Set(delivered.users.keys())).toEqual(wanted.users);
    expect(new Set(delivered.members.keys())).toEqual(wanted.members);
    expect(new Set(delivered.flaky.keys())).toEqual(wanted.flaky);

    // Exactly the permanent failures are dead letters.
    const dlq = await waitFor(async () => {
      const listed = JSON.parse(
        (await runCli(["dlq", "list", "--json", "--config", config], env)).stdout,
      ) as Array<{
        action: string;
        eventId: string;
      }>;
      return listed.length >= poisoned.size ? listed : undefined;
    });
    expect(dlq.every((d) => d.action === "flaky")).toBe(true);
    expect(new Set(dlq.map((d) => d.eventId))).toEqual(poisoned);

    const duplicates = Object.fromEntries(
      Object.entries(delivered).map(([name, map]) => [name, [...map.values()].filter((n) => n > 1).length]),
    );
    console.log(
      `fault suite (seed ${seed}): ${events.length} events, ${kills} SIGKILLs; events delivered more than once:`,
      duplicates,
    );
    expect(okIds(flaky, wanted.flaky).length).toBeGreaterThanOrEqual(wanted.flaky.size);

    last.child.kill("SIGTERM");
    expect((await last.exited).code).toBe(0);
  }, 300_000);

  it("stops with a clear fatal error when the store cannot be written, and loses nothing", async () => {
    const dir = workdir();
    const tenant = await startFakeTenant({ heartbeatMs: 200 });
    cleanup.add(() => tenant.close());
    const receiver = await startFakeWebhook();
    cleanup.add(() => receiver.close());
    const config = join(dir, "switchyard.yaml");
    writeFileSync(
      config,
      `source:
  auth0: { domain: "${tenant.url}", token: "${tenant.token}", fromTimestamp: "2026-01-01T00:00:00Z" }
state: ./state
server: { enabled: false }
actions:
  - { name: sink, plugin: "@switchyard/plugin-http", events: ["*"], with: { url: "${receiver.url}/in" } }
`,
    );
    const total = 6_000;
    tenant.appendMany(total, { seed });
    // Files may not grow past ~2 MB: SQLite gets "database or disk is full", as on a full disk.
    const full = hostProcess(config, {}, "trap '' XFSZ; ulimit -f 2048");
    const { code } = await full.exited;
    expect(code).toBe(1);
    const fatal = full.logs().find((log) => log.level === "fatal");
    expect(String(fatal?.error)).toMatch(
      /state store cannot be written \(SqliteError: (database or disk is full|disk I\/O error)\)/,
    );

    const healthy = hostProcess(config, {});
    let exit: unknown = "running";
    void healthy.exited.then((status) => {
      exit = status;
    });
    try {
      await waitFor(() => new Set(receiver.deliveries.map((d) => d.id)).size === total, {
        timeoutMs: 60_000,
        message: `all ${total} events after the store recovered`,
      });
    } catch (error) {
      // What the store holds and what each host said, to tell a stuck host from a lost event.
      const { default: Database } = await import("better-sqlite3");
      const db = new Database(join(dir, "state", "switchyard.db"), { readonly: true });
      const state = {
        events: db.prepare("SELECT count(*) AS n FROM events").get(),
        deliveries: db.prepare("SELECT status, count(*) AS n FROM deliveries GROUP BY status").all(),
        meta: db.prepare("SELECT * FROM meta").all(),
      };
      db.close();
      const said = (cli: CliProcess) => ({
        logs: cli
          .logs()
          .filter((log) => ["warn", "error", "fatal"].includes(String(log.level)))
          .slice(-15),
        stderr: cli.stderr.slice(-10),
      });
      console.log(
        "store-full run:",
        JSON.stringify({
          delivered: new Set(receiver.deliveries.map((d) => d.id)).size,
          exit,
          state,
          full: said(full),
          healthy: said(healthy),
        }),
      );
      throw error;
    }
    healthy.child.kill("SIGTERM");
    expect((await healthy.exited).code).toBe(0);
  }, 120_000);
});
