// Several hosts on one Postgres state, in one process: one leads the stream, all deliver, a stopped leader
// hands the stream over at once, and the state commands work against it from anywhere.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { createEventFactory, waitFor } from "@switchyard/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { finishConfig } from "../src/config/load.js";
import type { SwitchyardConfigInput } from "../src/config/schema.js";
import { type Host, startHost } from "../src/host.js";
import { openStore } from "../src/store/open.js";
import { runCli } from "./cli.js";
import { lineSink } from "./log-lines.js";
import { memorySource } from "./memory-source.js";
import { freePort } from "./ports.js";
import { createTestSchema, POSTGRES_URL, postgresAvailable, type TestSchema } from "./postgres.js";
import { delivered, RECORDER, recorded } from "./recorder.js";

const available = await postgresAvailable();
const factory = createEventFactory({ seed: 31 });
let dir: string;
let schema: TestSchema;
let hosts: Host[] = [];
let run = 0;

beforeEach(async () => {
  if (!available) return;
  dir = mkdtempSync(join(tmpdir(), "switchyard-replicas-"));
  schema = await createTestSchema();
  run++;
});
afterEach(async () => {
  if (!available) return;
  await Promise.all(hosts.map((h) => h.stop()));
  hosts = [];
  await schema.drop();
  rmSync(dir, { recursive: true, force: true });
});

function configFor(actions: SwitchyardConfigInput["actions"]) {
  return finishConfig(
    {
      source: { auth0: { domain: "unused.example", token: "t0ken" } },
      state: schema.url,
      server: { port: 0 },
      log: { level: "info" },
      delivery: { leaseMs: 600, shutdownGraceMs: 1000 },
      actions,
    },
    join(dir, "switchyard.yaml"),
    {},
  );
}

async function replica(actions: SwitchyardConfigInput["actions"], source: ReturnType<typeof memorySource>) {
  const logs: string[] = [];
  const sink = lineSink((line) => logs.push(line));
  const host = await startHost(configFor(actions), { source, logDestination: sink });
  hosts.push(host);
  const readyz = async () =>
    (await (await fetch(`http://127.0.0.1:${host.port}/readyz`)).json()) as {
      checks: { leader: boolean; store: boolean };
    };
  return { host, logs, readyz };
}

/** The same slow action for each replica, recorded apart by `name`, so that each replica's share shows. */
const slow = (name: string) => [
  {
    name: "slow",
    plugin: RECORDER,
    events: ["*"],
    concurrency: 2,
    with: { id: `${run}:${name}`, delayMs: 20 },
  },
];

describe.skipIf(!available)("replicas on one Postgres state", () => {
  it("one replica leads the stream, both deliver from the shared state, and a stopped leader hands over at once", async () => {
    const actions = [
      {
        name: "slow",
        plugin: RECORDER,
        events: ["*"],
        // Slow and narrow: its backlog waits in the store, where the standby claims its share.
        with: { id: `${run}:slow`, delayMs: 20 },
        concurrency: 2,
      },
    ];
    const source = memorySource();
    const a = await replica(actions, source);
    await waitFor(async () => (await a.readyz()).checks.leader);
    const b = await replica(actions, source);
    expect((await b.readyz()).checks).toMatchObject({ leader: false, store: true });
    expect(source.connects()).toBe(1);

    const first = factory.many(200);
    source.push(...first);
    await waitFor(() => delivered(`${run}:slow`).size === 200, { timeoutMs: 30_000 });

    // The leader stops (SIGTERM): it gives the lease up, and the standby reads on from the stored cursor.
    await a.host.stop();
    await waitFor(async () => (await b.readyz()).checks.leader, { timeoutMs: 5_000 });
    const second = factory.many(20);
    source.push(...second);
    await waitFor(() => second.every((e) => delivered(`${run}:slow`).has(e.id)), { timeoutMs: 10_000 });
    expect(source.connects()).toBe(2);
    // Nothing was read twice: the new leader resumed after the old one's cursor.
    expect(recorded(`${run}:slow`).filter((r) => r.attempt === 1).length).toBe(220);
  });

  it("a replica named by SWITCHYARD_REPLICA_ID keeps its name; a standby logs its role and who leads", async () => {
    const source = memorySource();
    const named = async (id: string) => {
      process.env.SWITCHYARD_REPLICA_ID = id;
      try {
        return await replica(slow(id), source);
      } finally {
        delete process.env.SWITCHYARD_REPLICA_ID;
      }
    };
    const alpha = await named(`alpha-${run}`);
    await waitFor(async () => (await alpha.readyz()).checks.leader);
    const beta = await named(`beta-${run}`);
    const standbyLine = await waitFor(() =>
      beta.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.role === "standby"),
    );
    expect(standbyLine).toMatchObject({ replica: `beta-${run}`, leader: `alpha-${run}` });
    type Status = { replica: string; stream: { leading: boolean; leader?: string } };
    const status = async (host: Host) =>
      (await (await fetch(`http://127.0.0.1:${host.port}/api/status`)).json()) as Status;
    expect(await status(beta.host)).toMatchObject({
      replica: `beta-${run}`,
      stream: { leading: false, leader: `alpha-${run}` },
    });
    expect((await status(alpha.host)).replica).toBe(`alpha-${run}`);
  });

  it("the leader reads ahead into the store while its action is busy, so the standby delivers too", async () => {
    const source = memorySource();
    const leader = await replica(slow("leader"), source);
    await waitFor(async () => (await leader.readyz()).checks.leader);
    await replica(slow("standby"), source);
    const events = factory.many(400);
    source.push(...events);
    const ids = () => [...delivered(`${run}:leader`), ...delivered(`${run}:standby`)];
    await waitFor(() => new Set(ids()).size === events.length, { timeoutMs: 30_000 });
    // Every event once (no claim was taken twice), and the standby, which never read the stream, took a
    // share: rows the leader wrote for what its busy action could not take at once.
    expect(ids()).toHaveLength(events.length);
    expect(delivered(`${run}:standby`).size).toBeGreaterThan(events.length / 5);
  });

  it("the admin API of any replica shows the whole picture: the leader, every replica's attempts, shared pauses", async () => {
    const source = memorySource();
    const leader = await replica(slow("leader"), source);
    await waitFor(async () => (await leader.readyz()).checks.leader);
    const standby = await replica(slow("standby"), source);
    const api = async <T>(host: Host, path: string, init?: RequestInit) =>
      (await (await fetch(`http://127.0.0.1:${host.port}${path}`, init)).json()) as T;

    type Status = {
      replica: string;
      stream: { leading: boolean; readingAhead: boolean; leader?: string; cursor?: string };
    };
    const leaderStatus = await api<Status>(leader.host, "/api/status");
    const standbyStatus = await api<Status>(standby.host, "/api/status");
    expect(leaderStatus.stream.leading).toBe(true);
    expect(standbyStatus.stream).toMatchObject({ leading: false, leader: leaderStatus.replica });

    // The leader reads ahead into the store, for the standby, once it has seen it alive (its next renewal).
    await waitFor(async () => (await api<Status>(leader.host, "/api/status")).stream.readingAhead === true);
    const events = factory.many(200);
    source.push(...events);
    const ids = () => new Set([...delivered(`${run}:leader`), ...delivered(`${run}:standby`)]);
    await waitFor(() => ids().size === events.length, { timeoutMs: 30_000 });
    // The standby's API lists the attempts of both replicas (each records its own).
    type Page = { items: Array<{ replica: string }> };
    // At least once: under load a delivery may run twice, so at least one attempt per event.
    await waitFor(
      async () => (await api<Page>(standby.host, "/api/deliveries?limit=500")).items.length >= 200,
    );
    const replicas = new Set(
      (await api<Page>(standby.host, "/api/deliveries?limit=500")).items.map((a) => a.replica),
    );
    expect(replicas).toEqual(new Set([leaderStatus.replica, standbyStatus.replica]));
    expect((await api<Status>(standby.host, "/api/status")).stream.cursor).toBe("o200");

    // A pause through one replica's API stops the action on both.
    const paused = await api<{ state: string }>(standby.host, "/api/actions/slow/pause", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(paused.state).toBe("paused");
    type Actions = { actions: Array<{ name: string; state: string; queueDepth: number }> };
    await waitFor(
      async () => (await api<Actions>(leader.host, "/api/actions")).actions[0]!.state === "paused",
    );
    // The store says paused at once; each replica applies it at its next sync (within a second).
    const pausedHere = async (host: Host) =>
      (await (await fetch(`http://127.0.0.1:${host.port}/metrics`)).text()).includes(
        'switchyard_action_paused{action="slow"} 1',
      );
    await waitFor(async () => (await pausedHere(leader.host)) && (await pausedHere(standby.host)));
    const held = factory.many(5);
    const before = ids().size;
    source.push(...held);
    await waitFor(async () => (await api<Actions>(leader.host, "/api/actions")).actions[0]!.queueDepth === 5);
    expect(ids().size).toBe(before);
    await api(leader.host, "/api/actions/slow/resume", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    await waitFor(() => held.every((e) => ids().has(e.id)), { timeoutMs: 10_000 });
  });

  it("shares dead letters and paused states: the state commands reach them from anywhere", async () => {
    const actions = [
      {
        name: "strict",
        plugin: RECORDER,
        events: ["user.*"],
        with: { id: `${run}:strict`, permanentTypes: ["user.deleted"] },
      },
    ];
    const source = memorySource();
    const replicas = [await replica(actions, source), await replica(actions, source)];
    const deleted = factory.byType["user.deleted"]();
    source.push(deleted, factory.byType["user.created"]());
    const store = await openStore(configFor(actions));
    try {
      await waitFor(async () => (await store.listDead()).length === 1);
      expect((await store.listDead())[0]).toMatchObject({ action: "strict", eventId: deleted.id });
      await store.setActionState("strict", { paused: true, reason: "operator" });
      await waitFor(() => replicas.every((r) => r.logs.some((line) => line.includes("action paused"))));
      const paused = factory.byType["user.updated"]();
      source.push(paused);
      await waitFor(async () => (await store.stats()).pending.strict === 1);
      expect(delivered(`${run}:strict`).has(paused.id)).toBe(false);
      await store.setActionState("strict", { paused: false });
      await waitFor(() => delivered(`${run}:strict`).has(paused.id));
    } finally {
      await store.close();
    }
  });

  it("waits for a state database that is not reachable yet, not ready meanwhile, and starts once it is", async () => {
    // A port with nothing listening stands for a database that is down; the host retries with backoff.
    const down = new URL(POSTGRES_URL);
    down.port = "1";
    down.password = "pw-not-to-print";
    const logs: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, callback) {
        logs.push(String(chunk));
        callback();
      },
    });
    const port = await freePort();
    const loaded = finishConfig(
      {
        source: { auth0: { domain: "unused.example", token: "t0ken" } },
        state: down.toString(),
        server: { port },
        actions: [{ name: "log", plugin: "console", events: ["*"] }],
      },
      join(dir, "switchyard.yaml"),
      {},
    );
    const giveUp = new AbortController();
    const starting = startHost(loaded, {
      source: memorySource(),
      logDestination: sink,
      signal: giveUp.signal,
    });
    starting.catch(() => {});
    await waitFor(() => logs.filter((line) => line.includes("not reachable yet")).length >= 2);
    const readyz = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(readyz.status).toBe(503);
    expect(await readyz.json()).toMatchObject({ checks: { store: false } });
    expect(logs.join("")).not.toContain("pw-not-to-print");
    giveUp.abort();
    await expect(starting).rejects.toThrow(/cannot open the state store/);
  });

  it("exits 2 with the reason, and no password, for a database that does not exist", async () => {
    const wrong = new URL(POSTGRES_URL);
    wrong.pathname = "/no_such_database_here";
    wrong.password = "pw-not-to-print";
    const file = join(dir, "switchyard.yaml");
    writeFileSync(
      file,
      `source: { auth0: { domain: "unused.example", token: "t0ken" } }\nstate: \${STATE}\nactions: [{ name: log, plugin: console, events: ["*"] }]\n`,
    );
    const result = await runCli(["start", "--config", file], { STATE: wrong.toString() });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/cannot open the state store in .*no_such_database_here.*does not exist/);
    expect(result.stderr + result.stdout).not.toContain("pw-not-to-print");
  });
});
