// The replica fault test: two real host processes share one PostgreSQL schema and one fake tenant. The leader
// is SIGKILLed, a killed replica comes back, the standby is SIGKILLed and comes back at once under its kept id,
// and every backend of the replicas is terminated (the database restarted under them). Nothing may be lost, and each subject's events reach each
// action in stream order, whichever replica runs them. `pnpm test:faults`.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Auth0Event, subjectOf } from "@switchyard/core";
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
import {
  cleanupList,
  type Replica,
  seededRandom,
  sleep,
  startReplica,
  writePostgresConfig,
} from "./harness.js";

const seed = Number(process.env.FAULT_SEED ?? 20261202);
const random = seededRandom(seed);

// A short lease keeps the test quick; FAULT_LEASE_MS tries another (500 found the heartbeat bug).
const LEASE_MS = Number(process.env.FAULT_LEASE_MS ?? 1000);
const ACTIONS = ["flaky", "users", "members"] as const;
type ActionName = (typeof ACTIONS)[number];

const cleanup = cleanupList();
afterEach(() => cleanup.run());

/** Whether the replica says (on /readyz) that it reads the stream now. */
async function leads(replica: Replica): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${replica.port}/readyz`);
    const body = (await response.json()) as { checks: { leader: boolean } };
    return body.checks.leader;
  } catch {
    return false;
  }
}

/** Whether the replica answers ready (its store takes writes; the leader's stream is connected). */
async function ready(replica: Replica): Promise<boolean> {
  try {
    return (await fetch(`http://127.0.0.1:${replica.port}/readyz`)).status === 200;
  } catch {
    return false;
  }
}

describe.skipIf(!(await postgresAvailable()))("fault suite: replicas on PostgreSQL", () => {
  it(`lose nothing through SIGKILLs of leader and standby and a database restart (seed ${seed})`, async () => {
    const dir = mkdtempSync(join(tmpdir(), "switchyard-pg-faults-"));
    cleanup.add(() => rmSync(dir, { recursive: true, force: true }));
    const schema = await createTestSchema();
    cleanup.add(() => schema.drop());

    const tenant: FakeTenant = await startFakeTenant({
      cutEvery: 211,
      heartbeatMs: 200,
      splitFrames: { seed },
    });
    cleanup.add(() => tenant.close());

    const factory = createEventFactory({ seed });
    const events: Auth0Event[] = factory
      .many(1_500)
      .map((event, i) =>
        i % 97 === 0 ? factory.event("session.revoked", { object: { id: `ses_${i}` } }) : event,
      );
    // The users' events are about 12 users, so that their order is at stake: every action here is ordered
    // by subject (the default), and a subject's next event may be claimed by either replica.
    events.forEach((event, i) => {
      if (event.type.startsWith("user."))
        (event.data.object as { user_id: string }).user_id = `auth0|u${i % 12}`;
    });
    const indexOf = new Map(events.map((e, i) => [e.id, i]));
    const poisoned = new Set(events.filter((_, i) => i % 101 === 50).map((e) => e.id));

    /** Successful deliveries per action (event id → how many times), and each one's event, replica and time. */
    const delivered = Object.fromEntries(ACTIONS.map((name) => [name, new Map<string, number>()])) as Record<
      ActionName,
      Map<string, number>
    >;
    const successes: Array<{ action: ActionName; index: number; replica: string; at: number }> = [];
    const record = (action: ActionName, request: { headers: Record<string, unknown> }) => {
      const id = String(request.headers["webhook-id"]);
      const map = delivered[action];
      map.set(id, (map.get(id) ?? 0) + 1);
      successes.push({
        action,
        index: indexOf.get(id) ?? -1,
        replica: String(request.headers["x-replica"]),
        at: Date.now(),
      });
    };
    const flaky = await startFakeWebhook({
      reply: async (request) => {
        const id = String(request.headers["webhook-id"]);
        if (poisoned.has(id)) return { status: 400, body: "invalid payload" };
        const roll = random();
        if (roll < 0.12) return { status: 503 };
        if (roll < 0.16) return { status: 429, headers: { "retry-after": "0" } };
        if (roll < 0.18) {
          // Slower than the plugin's timeout: the host gives up on it and retries (a duplicate).
          await sleep(600);
          record("flaky", request);
          return { status: 204 };
        }
        record("flaky", request);
        return { status: 204 };
      },
    });
    const receiver = (action: ActionName): Promise<FakeWebhook> =>
      startFakeWebhook({
        reply: (request) => {
          record(action, request);
          return { status: 204 };
        },
      });
    const users = await receiver("users");
    const members = await receiver("members");
    cleanup.add(() => Promise.all([flaky.close(), users.close(), members.close()]));

    const config = writePostgresConfig(
      dir,
      tenant,
      `delivery: { shutdownGraceMs: 2000, leaseMs: ${LEASE_MS} }
actions:
  - name: flaky
    plugin: "@switchyard/plugin-http"
    events: ["*"]
    with: { url: "${flaky.url}/in", timeoutMs: 400, headers: { x-replica: "\${REPLICA}" } }
    timeoutMs: 1000
    retry: { maxAttempts: 100, initialDelayMs: 20, maxDelayMs: 300 }
  - name: users
    plugin: "@switchyard/plugin-http"
    events: ["user.*"]
    with: { url: "${users.url}/in", headers: { x-replica: "\${REPLICA}" } }
  - name: members
    plugin: "@switchyard/plugin-http"
    events: ["organization.member.*"]
    orderBy: user
    with: { url: "${members.url}/in", headers: { x-replica: "\${REPLICA}" } }
`,
    );
    const env = { TENANT_SECRET: tenant.clientSecret, STATE_URL: schema.url };

    // Each replica keeps its id across restarts (SWITCHYARD_REPLICA_ID, as a StatefulSet's pods do): its name
    // and a part unique to this run, which also names its database connections (application_name).
    const run = randomBytes(4).toString("hex");
    const idOf = (replica: Replica) => `${replica.name}-${run}`;
    const replicas: Replica[] = [];
    const start = async (name: string): Promise<Replica> => {
      const replica = await startReplica(
        config,
        { ...env, SWITCHYARD_REPLICA_ID: `${name}-${run}` },
        name,
        cleanup,
      );
      replicas.push(replica);
      return replica;
    };
    const kill = async (replica: Replica) => {
      replica.cli.child.kill("SIGKILL");
      await replica.cli.exited;
      replicas.splice(replicas.indexOf(replica), 1);
    };
    /** The one replica that leads, once exactly one does. */
    const leader = (message: string) =>
      waitFor(
        async () => {
          const leading = (await Promise.all(replicas.map(leads))).map((yes, i) =>
            yes ? replicas[i] : undefined,
          );
          const holders = leading.filter((r) => r !== undefined);
          return holders.length === 1 ? holders[0] : undefined;
        },
        { timeoutMs: 15_000, intervalMs: 50, message },
      );

    let fed = 0;
    const feed = (n: number) => {
      const chunk = events.slice(fed, fed + n);
      fed += chunk.length;
      if (chunk.length) tenant.append(chunk);
    };
    /** Every event fed so far reached the flaky action (or is a dead letter there). */
    const caughtUp = (message: string) =>
      waitFor(() => events.slice(0, fed).every((e) => poisoned.has(e.id) || delivered.flaky.has(e.id)), {
        timeoutMs: 30_000,
        intervalMs: 100,
        message,
      });

    // Two replicas; one leads.
    await start("a1");
    await start("b1");
    feed(300);
    const first = await leader("one of two replicas leads");
    await waitFor(() => delivered.flaky.size >= 150, {
      timeoutMs: 30_000,
      message: "deliveries before the kill",
    });

    // 1. SIGKILL the leader while it works. The standby takes over within the lease and reads from the cursor
    // the leader stored last (nothing can move it while no one leads).
    const standby = replicas.find((r) => r !== first)!;
    const killedAt = Date.now();
    await kill(first);
    const exitedAt = Date.now();
    const [stored] = await schema.sql<{ value: string }>("SELECT value FROM meta WHERE key = 'cursor'");
    const fresh = fed;
    feed(200);
    expect(await leader("the standby takes the lease")).toBe(standby);
    const takeover = await waitFor(
      () => successes.find((d) => d.index >= fresh && d.replica === standby.name && d.at >= killedAt),
      { timeoutMs: 10_000, intervalMs: 20, message: "a new event delivered by the standby" },
    );
    const takeoverMs = takeover.at - killedAt;
    expect(takeoverMs).toBeLessThan(10_000);
    const resumed = tenant.connections.find((c) => c.at >= exitedAt);
    expect(stored?.value).toBeDefined();
    expect(resumed?.query.get("from") ?? resumed?.headers["last-event-id"]).toBe(stored?.value);
    await caughtUp("every event after the leader's SIGKILL");

    // 2. The killed replica comes back, as a standby.
    const back = await start("a2");
    feed(200);
    await caughtUp("every event with the killed replica back");
    expect(await leads(back)).toBe(false);

    // 3. SIGKILL the standby mid-stream and start it again at once under its id (~1 s: alive again before its
    // old registration expires): what the killed process had in flight, a retry that came due, must run again,
    // on it or on the other replica. (A standby rarely has a row in flight at the kill; the store's test of a
    // kept id covers that case for sure.)
    feed(200);
    await waitFor(() => successes.some((d) => d.index >= fed - 100), {
      timeoutMs: 10_000,
      message: "the stream moves on",
    });
    const standbyKilledAt = Date.now();
    await kill(back);
    await start("a2");
    const restartMs = Date.now() - standbyKilledAt;
    await caughtUp("every event after the standby's SIGKILL and its restart under its id");

    // 4. The database "restarts": every backend of both replicas is terminated, twice, while events flow. Only
    // this test's host processes are hit (their application_name carries their id, unique to this run), never
    // other clients.
    const apps = replicas.map((r) => `switchyard ${idOf(r)}`);
    const terminate = async () => {
      const rows = await schema.sql<{ app: string; ok: boolean }>(
        `SELECT application_name AS app, pg_terminate_backend(pid) AS ok FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = ANY($1::text[])`,
        [apps],
      );
      return rows;
    };
    feed(200);
    const hit = await terminate();
    expect(hit.length).toBeGreaterThan(0);
    expect(hit.every((row) => row.ok && apps.includes(row.app))).toBe(true);
    await sleep(300); // the second wave hits the connections opened again right after the first
    await terminate();
    feed(200);
    const survivor = await leader("one leader after the database restart");
    await caughtUp("every event after the database restart");
    await waitFor(async () => (await Promise.all(replicas.map(ready))).every(Boolean), {
      timeoutMs: 15_000,
      message: "both replicas ready again after the database restart",
    });

    // 5. Neither replica is stuck after the restart: SIGKILL the leader again; the other one takes over.
    const other = replicas.find((r) => r !== survivor)!;
    const secondKill = Date.now();
    await kill(survivor);
    const later = fed;
    feed(200);
    expect(await leader("the other replica takes the lease after the restart")).toBe(other);
    await waitFor(() => successes.find((d) => d.index >= later && d.replica === other.name), {
      timeoutMs: 10_000,
      intervalMs: 20,
      message: "a new event delivered by the replica that took over after the restart",
    });
    const secondTakeoverMs = Date.now() - secondKill;
    await start("b2");

    // 6. The rest of the stream, then the verdict.
    feed(events.length);
    const wanted: Record<ActionName, Set<string>> = {
      flaky: new Set(events.filter((e) => !poisoned.has(e.id)).map((e) => e.id)),
      users: new Set(events.filter((e) => e.type.startsWith("user.")).map((e) => e.id)),
      members: new Set(events.filter((e) => e.type.startsWith("organization.member.")).map((e) => e.id)),
    };
    const missing = () =>
      Object.fromEntries(
        ACTIONS.map((name) => [name, [...wanted[name]].filter((id) => !delivered[name].has(id))]),
      );
    await waitFor(() => Object.values(missing()).every((ids) => ids.length === 0), {
      timeoutMs: 45_000,
      intervalMs: 200,
      message: "every event at every matching action",
    }).catch((error: Error) => {
      const lost = Object.entries(missing()).map(
        ([name, ids]) => `${name}: ${ids.map((id) => indexOf.get(id))}`,
      );
      throw new Error(`${error.message}; missing event indexes ${lost.join("; ")}`);
    });
    for (const name of ACTIONS) expect(new Set(delivered[name].keys())).toEqual(wanted[name]);

    // Per subject, each action got its events in stream order: the first arrival of each (a delivery cut
    // off by a SIGKILL before its result was written runs again, later). `members` orders by user, not by
    // the subject; its users are all different here.
    for (const name of ["flaky", "users"] as const) {
      const seen = new Set<number>();
      const lastOf = new Map<string, number>();
      const outOfOrder: string[] = [];
      for (const { action, index } of successes) {
        if (action !== name || seen.has(index)) continue;
        seen.add(index);
        const subject = subjectOf(events[index]!) ?? "";
        const last = lastOf.get(subject) ?? -1;
        if (index < last) outOfOrder.push(`${subject}: event ${index} after ${last}`);
        lastOf.set(subject, Math.max(last, index));
      }
      // On failure: the subject's attempts as the history has them, and its first arrivals.
      if (outOfOrder.length > 0) {
        const subject = outOfOrder[0]!.split(": event")[0]!;
        const ids = events.map((e, i) => [e, i] as const).filter(([e]) => subjectOf(e) === subject);
        const rows = await schema.sql<Record<string, unknown>>(
          `SELECT event_id, attempt, started_at, duration_ms, outcome, status, error, replica FROM attempts
           WHERE action = $1 AND event_id = ANY($2::text[]) ORDER BY started_at, id`,
          [name, ids.map(([e]) => e.id)],
        );
        const index = new Map(ids.map(([e, i]) => [e.id, i]));
        const t0 = Number(rows[0]?.started_at ?? 0);
        console.log(
          `out of order at ${name}: ${outOfOrder.join("; ")}; its attempts (ms, duration, #event, attempt, outcome, status, replica):\n` +
            rows
              .map(
                (r) =>
                  `${Number(r.started_at) - t0} +${r.duration_ms} #${index.get(String(r.event_id))} a${r.attempt} o${r.outcome} ${r.status ?? ""} ${r.replica} ${r.error ?? ""}`,
              )
              .join("\n") +
            `\nsuccesses: ${successes
              .filter((x) => x.action === name && ids.some(([, i]) => i === x.index))
              .map((x) => `#${x.index}@${x.at - t0}:${x.replica}`)
              .join(" ")}`,
        );
      }
      expect(outOfOrder, `${name} in stream order per subject`).toEqual([]);
    }

    // Exactly the poisoned events are dead letters.
    const dlq = await waitFor(async () => {
      const { stdout } = await runCli(["dlq", "list", "--json", "--config", config], {
        ...env,
        REPLICA: "cli",
      });
      const listed = JSON.parse(stdout) as Array<{ action: string; eventId: string }>;
      return listed.length >= poisoned.size ? listed : undefined;
    });
    expect(dlq.every((d) => d.action === "flaky")).toBe(true);
    expect(new Set(dlq.map((d) => d.eventId))).toEqual(poisoned);

    // No replica crashed; both stop cleanly.
    expect(replicas.every((r) => r.cli.child.exitCode === null)).toBe(true);
    const duplicates = Object.fromEntries(
      ACTIONS.map((name) => [name, [...delivered[name].values()].filter((n) => n > 1).length]),
    );
    const byReplica = Object.fromEntries(
      [...new Set(successes.map((d) => d.replica))].map((name) => [
        name,
        successes.filter((d) => d.replica === name).length,
      ]),
    );
    console.log(
      `postgres replicas (seed ${seed}, leaseMs ${LEASE_MS}): ${events.length} events; takeover after the ` +
        `leader's SIGKILL ${takeoverMs} ms (after the database restart ${secondTakeoverMs} ms); the standby back under its id ${restartMs} ms after its SIGKILL; events delivered more than once: ${JSON.stringify(duplicates)}; ` +
        `deliveries by replica: ${JSON.stringify(byReplica)}`,
    );
    for (const replica of [...replicas]) replica.cli.child.kill("SIGTERM");
    for (const replica of [...replicas]) expect((await replica.cli.exited).code).toBe(0);
  }, 120_000);
});
