// The multi-tenant fault test: two real host processes share one PostgreSQL schema and serve three fake
// tenants (`sources`), with actions that select tenants. The streams spread over the replicas; the replica
// that leads the most is SIGKILLed and its streams resume on the other from their cursors. Every event must
// reach exactly its tenant's actions, and `dlq list --tenant` must list only that tenant's dead letters.
// `pnpm test:faults`.
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
import { runCli } from "../test/cli.js";
import { createTestSchema, postgresAvailable } from "../test/postgres.js";
import { cleanupList, type Replica, startReplica } from "./harness.js";

const seed = Number(process.env.FAULT_SEED ?? 20261205);
const LEASE_MS = Number(process.env.FAULT_LEASE_MS ?? 1000);

const TENANTS = ["prod", "staging", "dev"] as const;
type TenantName = (typeof TENANTS)[number];

/** Each action, the tenants it selects (`tenants:`), and its event patterns. */
const ACTIONS = {
  signups: { tenants: ["prod"], events: ["user.*"] },
  customers: { tenants: ["prod", "staging"], events: ["*"] },
  audit: { tenants: undefined, events: ["*"] },
  devhooks: { tenants: ["dev"], events: ["*"] },
} as const;
type ActionName = keyof typeof ACTIONS;
const ACTION_NAMES = Object.keys(ACTIONS) as ActionName[];

const cleanup = cleanupList();
afterEach(() => cleanup.run());

/** The tenants whose stream the replica leads now, from its `switchyard_stream_leader{tenant}` gauge. */
async function ledBy(replica: Replica): Promise<Set<string>> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${replica.port}/metrics`)).text();
    const led = [...text.matchAll(/^switchyard_stream_leader\{tenant="([^"]+)"\} 1$/gm)];
    return new Set(led.map((m) => m[1]!));
  } catch {
    return new Set();
  }
}

/** Each tenant's events: different mixes of types, ids unique across tenants. */
function tenantEvents(): Record<TenantName, Auth0Event[]> {
  const of = (tenant: TenantName, offset: number, count: number, types: string[]) =>
    createEventFactory({ seed: seed + offset, tenant }).many(count, types);
  return {
    prod: of("prod", 1, 450, ["user.created", "user.updated", "user.created"]),
    staging: of("staging", 2, 360, [
      "organization.created",
      "organization.updated",
      "organization.member.added",
      "organization.member.deleted",
    ]),
    dev: of("dev", 3, 330, [
      "user.created",
      "user.deleted",
      "organization.member.added",
      "session.revoked",
      "user.updated",
    ]),
  };
}

describe.skipIf(!(await postgresAvailable()))("fault suite: tenants on replicas", () => {
  it(`delivers each tenant's events to exactly its actions through a SIGKILL, streams spread over the replicas (seed ${seed})`, async () => {
    const dir = mkdtempSync(join(tmpdir(), "switchyard-tenant-faults-"));
    cleanup.add(() => rmSync(dir, { recursive: true, force: true }));
    const schema = await createTestSchema();
    cleanup.add(() => schema.drop());

    const fakes = {} as Record<TenantName, FakeTenant>;
    for (const tenant of TENANTS) {
      fakes[tenant] = await startFakeTenant({ heartbeatMs: 200, cutEvery: 173 });
      cleanup.add(() => fakes[tenant].close());
    }
    const events = tenantEvents();
    const tenantOf = new Map<string, TenantName>();
    for (const tenant of TENANTS) for (const e of events[tenant]) tenantOf.set(e.id, tenant);
    expect(tenantOf.size).toBe(TENANTS.reduce((n, t) => n + events[t].length, 0));

    // Permanent failures (400): `audit` refuses some events of every tenant, `devhooks` some of dev's.
    const refused: Record<ActionName, Set<string>> = {
      signups: new Set(),
      customers: new Set(),
      audit: new Set(TENANTS.flatMap((t) => events[t].filter((_, i) => i % 61 === 7).map((e) => e.id))),
      devhooks: new Set(events.dev.filter((_, i) => i % 37 === 5).map((e) => e.id)),
    };

    /** Per action: each delivered event id, how often, and what a0tenant its body carried. */
    const delivered = Object.fromEntries(
      ACTION_NAMES.map((name) => [name, new Map<string, number>()]),
    ) as Record<ActionName, Map<string, number>>;
    const strangers: string[] = [];
    const byReplica = new Map<string, number>();
    const receiver = (action: ActionName): Promise<FakeWebhook> =>
      startFakeWebhook({
        reply: (request) => {
          const id = String(request.headers["webhook-id"]);
          if (refused[action].has(id)) return { status: 400, body: "refused by the test" };
          const selected: readonly string[] = ACTIONS[action].tenants ?? TENANTS;
          const body = request.json as { a0tenant?: string };
          if (!selected.includes(tenantOf.get(id) ?? "?") || !selected.includes(body.a0tenant ?? "?")) {
            strangers.push(`${action} got ${id} of ${tenantOf.get(id) ?? "no tenant"} (${body.a0tenant})`);
          }
          delivered[action].set(id, (delivered[action].get(id) ?? 0) + 1);
          const replica = String(request.headers["x-replica"]);
          byReplica.set(replica, (byReplica.get(replica) ?? 0) + 1);
          return { status: 204 };
        },
      });
    const receivers = {} as Record<ActionName, FakeWebhook>;
    for (const name of ACTION_NAMES) {
      receivers[name] = await receiver(name);
      cleanup.add(() => receivers[name].close());
    }

    const config = join(dir, "switchyard.yaml");
    const sources = TENANTS.map(
      (tenant) => `  - tenant: ${tenant}
    auth0: { domain: "${fakes[tenant].url}", clientId: "${fakes[tenant].clientId}", clientSecret: "\${SECRET_${tenant.toUpperCase()}}", fromTimestamp: "2026-01-01T00:00:00Z" }`,
    );
    const actions = ACTION_NAMES.map((name) => {
      const { tenants, events: patterns } = ACTIONS[name];
      return `  - name: ${name}
    plugin: "@switchyard/plugin-http"
    events: ${JSON.stringify(patterns)}${tenants ? `\n    tenants: ${JSON.stringify(tenants)}` : ""}
    with: { url: "${receivers[name].url}/in", headers: { x-replica: "\${REPLICA}" } }
    retry: { maxAttempts: 20, initialDelayMs: 20, maxDelayMs: 200 }`;
    });
    writeFileSync(
      config,
      `sources:
${sources.join("\n")}
state: "\${STATE_URL}"
server: { port: 0 }
delivery: { shutdownGraceMs: 2000, leaseMs: ${LEASE_MS} }
actions:
${actions.join("\n")}
`,
    );
    const env: NodeJS.ProcessEnv = { STATE_URL: schema.url };
    for (const tenant of TENANTS) env[`SECRET_${tenant.toUpperCase()}`] = fakes[tenant].clientSecret;

    const replicas: Replica[] = [];
    const start = async (name: string): Promise<Replica> => {
      const replica = await startReplica(config, env, name, cleanup);
      replicas.push(replica);
      return replica;
    };
    /** Which replica leads each tenant's stream, once every stream has exactly one leader. */
    const leaders = (message: string, accept: (led: Map<Replica, Set<string>>) => boolean = () => true) =>
      waitFor(
        async () => {
          const led = new Map<Replica, Set<string>>();
          for (const replica of replicas) led.set(replica, await ledBy(replica));
          const counts = TENANTS.map((t) => [...led.values()].filter((set) => set.has(t)).length);
          return counts.every((n) => n === 1) && accept(led) ? led : undefined;
        },
        { timeoutMs: 15_000, intervalMs: 50, message },
      );

    const fed = Object.fromEntries(TENANTS.map((t) => [t, 0])) as Record<TenantName, number>;
    /** Append the next `share` (a fraction) of every tenant's events to its fake tenant. */
    const feed = (share: number) => {
      for (const tenant of TENANTS) {
        const all = events[tenant];
        const chunk = all.slice(fed[tenant], fed[tenant] + Math.ceil(all.length * share));
        fed[tenant] += chunk.length;
        if (chunk.length) fakes[tenant].append(chunk);
      }
    };
    /** What each action should have got of the events fed so far. */
    const wanted = (name: ActionName) => {
      const selected: readonly TenantName[] = ACTIONS[name].tenants ?? TENANTS;
      return selected
        .flatMap((t) => events[t].slice(0, fed[t]))
        .filter((e) => name !== "signups" || e.type.startsWith("user."))
        .filter((e) => !refused[name].has(e.id))
        .map((e) => e.id);
    };
    const missing = () =>
      Object.fromEntries(
        ACTION_NAMES.map((name) => [name, wanted(name).filter((id) => !delivered[name].has(id))]),
      ) as Record<ActionName, string[]>;
    /** Every event fed so far at each of its actions; an event at another tenant's action fails at once. */
    const caughtUp = async (message: string, timeoutMs = 30_000) => {
      await waitFor(() => strangers.length > 0 || Object.values(missing()).every((ids) => ids.length === 0), {
        timeoutMs,
        intervalMs: 100,
        message,
      }).catch((error: Error) => {
        const lost = Object.entries(missing()).map(([name, ids]) => `${name}: ${ids.length}`);
        throw new Error(`${error.message}; missing ${lost.join(", ")}`);
      });
      expect(strangers).toEqual([]);
    };

    // 1. Two replicas; the three streams spread over them (one leads two, the other one).
    const startedAt = Date.now();
    await Promise.all([start("a"), start("b")]);
    feed(0.3);
    const spread = await leaders("each replica leads at least one stream", (led) =>
      [...led.values()].every((set) => set.size >= 1),
    );
    await caughtUp("every event fed before the kill");

    // 2. More events, and SIGKILL the replica that leads the most streams while it works.
    const total = () => ACTION_NAMES.reduce((n, name) => n + delivered[name].size, 0);
    const before = total();
    feed(0.2);
    const [victim, victimStreams] = [...spread.entries()].sort((x, y) => y[1].size - x[1].size)[0]!;
    const survivor = replicas.find((r) => r !== victim)!;
    await waitFor(() => total() > before, { timeoutMs: 10_000, message: "the new events under way" });
    const killedAt = Date.now();
    victim.cli.child.kill("SIGKILL");
    await victim.cli.exited;
    replicas.splice(replicas.indexOf(victim), 1);
    const exitedAt = Date.now();
    // Nothing moves a cursor while no one leads its stream: the survivor must resume from these.
    const stored = await schema.sql<{ key: string; value: string }>(
      "SELECT key, value FROM meta WHERE key LIKE 'cursor:%'",
    );
    const cursors = new Map(stored.map((row) => [row.key.slice("cursor:".length), row.value]));
    feed(0.25);
    await leaders("the survivor leads every stream", (led) => led.get(survivor)?.size === TENANTS.length);
    const takeoverMs = Date.now() - killedAt;
    for (const tenant of victimStreams) {
      // The gauge says "leading" as the survivor starts to read: its connection may follow just after.
      const resumed = await waitFor(
        () => fakes[tenant as TenantName].connections.find((c) => c.at >= exitedAt),
        { timeoutMs: 5_000, message: `${tenant}'s stream read again` },
      );
      expect(cursors.get(tenant), `${tenant}'s stored cursor`).toBeDefined();
      expect(resumed.query.get("from") ?? resumed.headers["last-event-id"]).toBe(cursors.get(tenant));
    }

    // 3. The killed replica comes back: the survivor, leading two more, gives it one stream.
    const back = await start("a2");
    const respread = await leaders("the streams spread again", (led) =>
      [...led.values()].every((set) => set.size >= 1),
    );

    // 4. The rest of every stream; nothing is lost, nothing reaches another tenant's action.
    feed(1);
    await caughtUp("every event at every action of its tenant after the SIGKILL", 45_000);
    for (const name of ACTION_NAMES) expect(new Set(delivered[name].keys())).toEqual(new Set(wanted(name)));
    expect(strangers).toEqual([]);

    // 5. Dead letters: `dlq list --tenant dev` lists exactly dev's, and the other tenants' stay out of it.
    const expectedDead = (tenant: TenantName) =>
      new Set(
        ACTION_NAMES.flatMap((name) => {
          const selected: readonly string[] = ACTIONS[name].tenants ?? TENANTS;
          if (!selected.includes(tenant)) return [];
          return events[tenant].filter((e) => refused[name].has(e.id)).map((e) => `${name} ${e.id}`);
        }),
      );
    const listDead = async (tenant: TenantName) => {
      const { code, stdout, stderr } = await runCli(
        ["dlq", "list", "--tenant", tenant, "--json", "--config", config],
        { ...env, REPLICA: "cli" },
      );
      expect(code, stderr).toBe(0);
      return JSON.parse(stdout) as Array<{ action: string; tenant: string; eventId: string }>;
    };
    const devDead = await waitFor(
      async () => {
        const listed = await listDead("dev");
        return listed.length >= expectedDead("dev").size ? listed : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 200, message: "dev's dead letters" },
    );
    expect(devDead.every((d) => d.tenant === "dev")).toBe(true);
    expect(new Set(devDead.map((d) => `${d.action} ${d.eventId}`))).toEqual(expectedDead("dev"));
    expect(expectedDead("dev").size).toBeGreaterThan(expectedDead("prod").size);
    const prodDead = await listDead("prod");
    expect(new Set(prodDead.map((d) => `${d.action} ${d.eventId}`))).toEqual(expectedDead("prod"));

    const duplicates = Object.fromEntries(
      ACTION_NAMES.map((name) => [name, [...delivered[name].values()].filter((n) => n > 1).length]),
    );
    console.log(
      `tenants on replicas (seed ${seed}, leaseMs ${LEASE_MS}): ${tenantOf.size} events of ${TENANTS.length} tenants; ` +
        `spread ${[...spread.entries()].map(([r, set]) => `${r.name}: ${[...set].join("+")}`).join(", ")}; ` +
        `${victim.name} SIGKILLed, the survivor led every stream after ${takeoverMs} ms; back: ` +
        `${[...respread.entries()].map(([r, set]) => `${r.name}: ${[...set].join("+")}`).join(", ")}; ` +
        `events delivered more than once: ${JSON.stringify(duplicates)}; deliveries by replica: ` +
        `${JSON.stringify(Object.fromEntries(byReplica))}; ${Date.now() - startedAt} ms in all`,
    );
    // No replica crashed; both stop cleanly.
    expect(replicas.every((r) => r.cli.child.exitCode === null)).toBe(true);
    for (const replica of replicas) replica.cli.child.kill("SIGTERM");
    for (const replica of [survivor, back]) expect((await replica.cli.exited).code).toBe(0);
  }, 120_000);
});
