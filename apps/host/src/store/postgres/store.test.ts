import { createEventFactory, type FaultProxy, startFaultProxy, waitFor } from "@switchyard/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  createTestSchema,
  POSTGRES_URL,
  postgresAvailable,
  type TestSchema,
} from "../../../test/postgres.js";
import { ingestRow } from "../../../test/store-conformance.js";
import { LATENCY_COLUMNS } from "../history.js";
import { POSTGRES_SCHEMA_VERSION } from "./schema.js";
import { openPostgresStore, type PostgresStore, type PostgresStoreOptions } from "./store.js";

const factory = createEventFactory({ seed: 41 });
const idOf = (payload: string) => (JSON.parse(payload) as { id: string }).id;

describe.skipIf(!(await postgresAvailable()))("postgres store", () => {
  let schema: TestSchema;
  let stores: PostgresStore[] = [];
  let proxies: FaultProxy[] = [];
  const open = async (options: PostgresStoreOptions = {}) => {
    const store = await openPostgresStore(schema.url, options);
    stores.push(store);
    await waitFor(() => stores[0]!.leadership.acquire());
    return store;
  };

  beforeEach(async () => {
    schema = await createTestSchema();
    stores = [];
    proxies = [];
  });
  afterEach(async () => {
    for (const store of stores) await store.close().catch(() => {});
    for (const proxy of proxies) await proxy.close();
    await schema.drop();
  });

  it("believes a replica's breakers only while it is alive; a starting replica forgets the dead ones", async () => {
    const a = await open();
    const b = await open({ leaseMs: 200 });
    const now = Date.now();
    await a.setBreaker({ action: "x", replica: a.replicaId, state: "open", since: now, until: now + 60_000 });
    await b.setBreaker({ action: "x", replica: b.replicaId, state: "open", since: now, until: now + 60_000 });
    expect((await a.breakers()).map((r) => r.replica).sort()).toEqual([a.replicaId, b.replicaId].sort());
    // b is SIGKILLed: it stops touching, and its liveness (3 leases) runs out. Its record stays, unbelieved.
    await schema.sql(
      "UPDATE replicas SET expires_at = clock_timestamp() - interval '1 second' WHERE id = $1",
      [b.replicaId],
    );
    expect((await a.breakers()).map((r) => r.replica)).toEqual([a.replicaId]);
    expect(await schema.sql("SELECT count(*)::int AS n FROM breakers")).toEqual([{ n: 2 }]);
    // A replica that starts removes the records of the dead ones, and its own earlier ones.
    const c = await open();
    await c.resetBreakers(c.replicaId);
    expect(await schema.sql("SELECT replica FROM breakers")).toEqual([{ replica: a.replicaId }]);
  });

  it("writes held-at-ingest deliveries in flight, owned by the replica; another replica's claims wait behind them", async () => {
    const store = await open();
    const other = await open();
    const [a1, a2, c1, c2, c3] = factory.many(5);
    const { keys } = await store.ingest(
      [ingestRow(a1!, ["o"], { orderKey: "a", held: true }), ingestRow(a2!, ["o"], { orderKey: "a" })],
      undefined,
    );
    expect(await schema.sql("SELECT event, status, owner FROM deliveries ORDER BY event")).toEqual([
      { event: String(keys[0]), status: 1, owner: store.replicaId },
      { event: String(keys[1]), status: 0, owner: null },
    ]);
    expect(await store.countUnfinished()).toBe(2);
    await store.complete([{ key: keys[0]!, action: "o", result: "running", attempts: 1 }]);
    // a1 runs here: another replica must not run a2 meanwhile.
    expect(await other.claim("o", 10, Date.now(), true)).toHaveLength(0);
    // A held delivery behind one of its key in flight here is this host's to order (its runner queues it),
    // not declined; behind one in flight on another replica, it is.
    const mine = await store.ingest([ingestRow(c1!, ["o"], { orderKey: "c", held: true })], undefined);
    const again = await store.ingest([ingestRow(c2!, ["o"], { orderKey: "c", held: true })], undefined);
    expect(again.declined ?? []).toEqual([]);
    const theirs = await other.ingest([ingestRow(c3!, ["o"], { orderKey: "c", held: true })], undefined);
    expect(theirs.declined).toEqual([[0, "o"]]);
    // `rowless` is SQLite's word: here the row exists and is deleted.
    await store.complete([{ key: keys[0]!, action: "o", result: "delivered", rowless: true }]);
    expect((await other.claim("o", 10, Date.now(), true)).map((c) => idOf(c.payload))).toEqual([a2!.id]);
    // c3 waits until c1 and c2 are done here.
    await store.complete([
      { key: mine.keys[0]!, action: "o", result: "delivered", rowless: true },
      { key: again.keys[0]!, action: "o", result: "delivered", rowless: true },
    ]);
    expect((await other.claim("o", 10, Date.now(), true)).map((c) => idOf(c.payload))).toEqual([c3!.id]);
  });

  /** A store whose connections pass through a fault proxy in front of the test server. */
  const openThroughProxy = async (options: PostgresStoreOptions = {}) => {
    const server = new URL(schema.url);
    const proxy = await startFaultProxy({ host: server.hostname, port: Number(server.port || 5432) });
    proxies.push(proxy);
    server.host = proxy.address;
    const store = await openPostgresStore(server.toString(), options);
    stores.push(store);
    return { store, proxy };
  };
  const rowsOf = () => schema.sql("SELECT event, status, owner FROM deliveries ORDER BY event");

  it("an ingest whose COMMIT's answer is lost stands: the server is asked whether it committed", async () => {
    const { store, proxy } = await openThroughProxy();
    const [event] = factory.many(1);
    proxy.cutAfterAnswer("COMMIT");
    // Without the question the ingest fails, its events are duplicates when it is retried, and the held
    // delivery stays in flight here with no runner to run it (and no other replica to recover it).
    const { keys } = await store.ingest([ingestRow(event!, ["x"], { held: true })], undefined);
    expect(keys[0]).toBeGreaterThan(0);
    expect(proxy.acceptedConnections()).toBeGreaterThan(1);
    expect(await rowsOf()).toEqual([{ event: String(keys[0]), status: 1, owner: store.replicaId }]);
  });

  it("a claim whose COMMIT goes unanswered while the server is away: the heartbeat releases its rows later", async () => {
    const { store, proxy } = await openThroughProxy({ commitCheckMs: 100 });
    await store.ingest([ingestRow(factory.many(1)[0]!, ["x"])], undefined);
    proxy.cutAfterAnswer("COMMIT", "hole");
    await expect(store.claim("x", 10, Date.now(), false)).rejects.toThrow();
    // It committed: the row is in flight here, in no runner's hands, and this replica is alive.
    expect(await rowsOf()).toEqual([expect.objectContaining({ status: 1, owner: store.replicaId })]);
    proxy.heal();
    expect(await store.recover()).toBe(0);
    await store.touch(Date.now());
    expect(await rowsOf()).toEqual([expect.objectContaining({ status: 0, owner: null })]);
    expect(await store.claim("x", 10, Date.now(), false)).toHaveLength(1);
  });

  it("gives up on a connection the network silenced (no answer, no reset), and works on through new ones", async () => {
    const { store, proxy } = await openThroughProxy({ queryTimeoutMs: 300 });
    const [first, second] = factory.many(2);
    await store.ingest([ingestRow(first!, ["x"])], undefined);
    // Every connection open now answers nothing, as after a failover to another address.
    proxy.silenceOpen();
    // Without a timeout, this ingest (and every write after it) would wait for ever.
    const written = await waitFor(
      () => store.ingest([ingestRow(second!, ["x"])], undefined).catch(() => undefined),
      { timeoutMs: 10_000, message: "an ingest through a new connection" },
    );
    expect(written.keys[0]).toBeGreaterThan(0);
    expect(await store.claim("x", 10, Date.now(), false)).toHaveLength(2);
  });

  it("shares the work between replicas: no delivery is claimed twice, a key's deliveries run on one replica", async () => {
    const a = await open();
    const b = await open();
    const events = factory.many(40);
    await a.ingest(
      events.map((e, i) => ingestRow(e, ["x", "o"], { orderKey: `k${i % 4}` })),
      undefined,
    );
    const now = Date.now();
    const claims = await Promise.all([a, b, a, b].map((s) => s.claim("x", 15, now, false)));
    const keys = claims.flat().map((c) => c.key);
    expect(new Set(keys).size).toBe(40);
    expect(keys).toHaveLength(40);
    // Ordered: a replica takes the next rows of a key only while none of the key runs on another, so each
    // key's rows are claimed by one replica (whose runner runs them one after another), in stream order.
    const replicas = [a, b, a, b, a, b];
    const ordered = await Promise.all(replicas.map((s) => s.claim("o", 10, now, true)));
    const keyOf = (id: string) => `k${events.findIndex((e) => e.id === id) % 4}`;
    const owner = new Map<string, unknown>();
    const claimed: string[] = [];
    ordered.forEach((rows, i) => {
      const ids = rows.map((c) => idOf(c.payload));
      claimed.push(...ids);
      for (const id of ids) {
        if (!owner.has(keyOf(id))) owner.set(keyOf(id), replicas[i]);
        expect(owner.get(keyOf(id))).toBe(replicas[i]);
      }
      // In stream order within the claim.
      expect(ids).toEqual(
        [...ids].sort((x, y) => events.findIndex((e) => e.id === x) - events.findIndex((e) => e.id === y)),
      );
    });
    expect(new Set(claimed).size).toBe(claimed.length);
    expect(claimed.length).toBeGreaterThan(0);
  });

  it("recovers the in-flight rows of a replica that stopped renewing, not of live ones", async () => {
    const live = await open();
    const stopped = await open({ replicaTtlMs: 300 });
    await live.ingest(
      factory.many(4).map((e) => ingestRow(e, ["x"])),
      undefined,
    );
    const now = Date.now();
    await live.claim("x", 2, now, false);
    await stopped.claim("x", 2, now, false);
    expect(await live.recover()).toBe(0);
    // No more `touch` from `stopped`: its lease runs out by the database's clock.
    const recovered = await waitFor(async () => (await live.recover()) || undefined, { message: "recovery" });
    expect(recovered).toBe(2);
    const taken = await live.claim("x", 10, Date.now(), false);
    expect(taken).toHaveLength(2);
    // The slow replica's late retry does not take back a delivery another replica now runs.
    await stopped.complete([
      { key: taken[0]!.key, action: "x", result: "retry", attempts: 1, dueAt: Date.now(), error: "late" },
    ]);
    expect(
      await schema.sql("SELECT owner, status FROM deliveries WHERE event = $1", [taken[0]!.key]),
    ).toEqual([{ owner: live.replicaId, status: 1 }]);
    // Renewing keeps a replica alive.
    await stopped.touch(Date.now());
    await stopped.claim("x", 10, Date.now(), false);
    expect(await live.recover()).toBe(0);
  });

  // SWITCHYARD_REPLICA_ID keeps a replica's id across restarts (a StatefulSet's pod name): a killed process
  // leaves its in-flight rows owned by an id that is alive again at once, which `recover` passes by.
  it("makes due again, when it opens under a kept id, what its killed process had in flight", async () => {
    const killed = await open({ replicaId: "kept-1" });
    const other = await open();
    const events = factory.many(4);
    await killed.ingest(
      events.map((e) => ingestRow(e, ["x"])),
      undefined,
    );
    expect(await killed.claim("x", 3, Date.now(), false)).toHaveLength(3);
    expect(await other.claim("x", 1, Date.now(), false)).toHaveLength(1);
    // Killed: no close, so its replica row stays alive; restarted under the same id.
    const restarted = await open({ replicaId: "kept-1" });
    expect(await restarted.recover()).toBe(0);
    const taken = await restarted.claim("x", 10, Date.now(), false);
    expect(taken.map((c) => idOf(c.payload)).sort()).toEqual(
      events
        .slice(0, 3)
        .map((e) => e.id)
        .sort(),
    );
    // The other replica's delivery stays its own.
    expect(await schema.sql("SELECT owner FROM deliveries WHERE owner <> $1", ["kept-1"])).toEqual([
      { owner: other.replicaId },
    ]);
  });

  it("migrates once when replicas start together, and refuses a newer schema", async () => {
    const opened = await Promise.all([1, 2, 3].map(() => openPostgresStore(schema.url)));
    stores.push(...opened);
    expect(await schema.sql("SELECT version FROM schema_version")).toEqual([
      { version: POSTGRES_SCHEMA_VERSION },
    ]);
    await schema.sql("UPDATE schema_version SET version = 99");
    const url = schema.url.replace("postgres@", "postgres:hunter2@");
    const error = await openPostgresStore(url).then(
      () => undefined,
      (e: Error & { code?: string }) => e,
    );
    expect(error?.code).toBe("SWITCHYARD_SCHEMA_TOO_NEW");
    expect(error?.message).toContain(
      `has schema version 99; this switchyard knows up to ${POSTGRES_SCHEMA_VERSION}: upgrade switchyard`,
    );
    expect(error?.message).toContain("postgres://postgres:***@");
    expect(error?.message).not.toContain("hunter2");
  });

  it("upgrades a version 2 schema to the latest: latest wins, stale and attempt logs, the audit log, events' traces, breakers, attempts' and the rollup's tenants, its rows kept", async () => {
    const store = await open();
    await store.ingest([ingestRow(factory.many(1)[0]!, ["x"])], "c-1");
    await store.close();
    stores = [];
    // Back to version 2's layout, with an attempt recorded as version 2 did.
    await schema.sql(
      `DROP TABLE latest; DROP TABLE audit; DROP TABLE rate_buckets; DROP TABLE breakers; ALTER TABLE attempts DROP COLUMN logs;
       ALTER TABLE attempts DROP COLUMN tenant;
       ALTER TABLE deliveries DROP COLUMN attempts_before; ALTER TABLE events DROP COLUMN trace;
       ALTER TABLE events DROP COLUMN tenant; ALTER TABLE events ADD CONSTRAINT events_event_id_key UNIQUE (event_id);
       ALTER TABLE stream_lease DROP COLUMN tenant;
       ALTER TABLE stream_lease ADD COLUMN id integer NOT NULL DEFAULT 1 PRIMARY KEY CHECK (id = 1);
       ALTER TABLE attempt_minutes DROP COLUMN stale, ${LATENCY_COLUMNS.map((c) => `DROP COLUMN ${c}`).join(", ")};
       ALTER TABLE attempt_minutes DROP COLUMN tenant, ADD PRIMARY KEY (minute, action);
       UPDATE schema_version SET version = 2`,
    );
    await schema.sql(
      `INSERT INTO attempts (action, event_id, type, attempt, started_at, duration_ms, outcome, replica)
       VALUES ('x', 'evt_old', 'user.created', 1, 60000, 5, 0, 'r')`,
    );
    await schema.sql(
      "INSERT INTO attempt_minutes (minute, action, delivered, retrying, dead, duration_ms) VALUES (60000, 'x', 1, 0, 0, 5)",
    );
    const upgraded = await open();
    expect(await schema.sql("SELECT version FROM schema_version")).toEqual([
      { version: POSTGRES_SCHEMA_VERSION },
    ]);
    // Version 4: the rate-limit buckets shared by replicas.
    expect(await upgraded.rateBuckets.take("x", { perSecond: 1, burst: 2 }, 3)).toMatchObject({ granted: 2 });
    expect(await upgraded.getCursor()).toBe("c-1");
    expect((await upgraded.stats()).pending).toEqual({ x: 1 });
    // The event stored before the upgrade has no trace context; its delivery is claimed as before.
    expect(await upgraded.claim("x", 1, Date.now(), false)).toEqual([
      expect.not.objectContaining({ trace: expect.anything() }),
    ]);
    await upgraded.recordAttempts([
      {
        action: "x",
        eventId: "evt_new",
        eventType: "user.updated",
        attempt: 1,
        startedAt: 60_001,
        durationMs: 0,
        outcome: "stale",
        replica: "r",
        logs: [{ level: "warn", message: "skipped", at: 60_001 }],
      },
    ]);
    const [newer, older] = await upgraded.searchAttempts({ limit: 5 });
    expect(newer).toMatchObject({
      outcome: "stale",
      logs: [{ level: "warn", message: "skipped", at: 60_001 }],
    });
    // Version 9: attempts recorded before their tenants were the tenant `default`'s.
    expect(older).toMatchObject({ eventId: "evt_old", outcome: "delivered", tenant: "default" });
    expect(older).not.toHaveProperty("logs");
    expect(await upgraded.activity(60_000)).toEqual([
      { action: "x", minute: 60_000, delivered: 1, retrying: 0, dead: 0, stale: 1, durationMs: 5 },
    ]);
    expect(await schema.sql("SELECT count(*)::integer AS n FROM latest")).toEqual([{ n: 0 }]);
    // The minute's histogram starts with the attempts recorded after the upgrade (the stale one did not run).
    expect(await upgraded.latency(60_000)).toEqual([{ action: "x", counts: LATENCY_COLUMNS.map(() => 0) }]);
    await upgraded.recordAudit({ at: 1, actor: "cli:a@b", operation: "purge", selection: {}, result: {} });
    expect(await upgraded.searchAudit({ limit: 1 })).toMatchObject([{ operation: "purge" }]);
    // Version 7: the breakers' states.
    await upgraded.setBreaker({ action: "x", replica: upgraded.replicaId, state: "half-open", since: 1 });
    expect(await upgraded.breakers()).toEqual([
      { action: "x", replica: upgraded.replicaId, state: "half-open", since: 1 },
    ]);
    // Version 9: an attempt keeps its tenant, and the default one is stored as nothing.
    const attempt = { ...newer!, eventId: "evt_beta", tenant: "beta" };
    await upgraded.recordAttempts([attempt]);
    expect(await upgraded.searchAttempts({ tenant: "beta", limit: 5 })).toMatchObject([
      { eventId: "evt_beta", tenant: "beta" },
    ]);
    expect(
      await schema.sql(
        "SELECT event_id, tenant FROM attempts WHERE tenant IS NOT NULL OR event_id = 'evt_old'",
      ),
    ).toEqual([
      { event_id: "evt_old", tenant: null },
      { event_id: "evt_beta", tenant: "beta" },
    ]);
    // Version 10: the rollup per tenant; its bucket from before is the tenant `default`'s, named.
    const minute = { action: "x", minute: 60_000, delivered: 1, retrying: 0, dead: 0, durationMs: 5 };
    expect(await upgraded.activity(60_000, "default")).toEqual([{ ...minute, stale: 1 }]);
    expect(await upgraded.activity(60_000, "beta")).toEqual([
      { ...minute, delivered: 0, stale: 1, durationMs: 0 },
    ]);
    expect(await upgraded.activity(60_000)).toEqual([{ ...minute, stale: 2 }]);
    expect(await schema.sql("SELECT tenant FROM attempt_minutes ORDER BY tenant")).toEqual([
      { tenant: "beta" },
      { tenant: "default" },
    ]);
  });

  it("survives its connections being terminated: operations fail, then work again", async () => {
    const errors: Error[] = [];
    const store = await open({ onError: (e) => errors.push(e) });
    await store.ingest([ingestRow(factory.many(1)[0]!, ["x"])], "c-1");
    await Promise.all([store.countUnfinished(), store.stats(), store.getCursor()]);
    // Only this store's connections: other tests share the server.
    const ended = await schema.sql<{ n: number }>(
      `SELECT count(pg_terminate_backend(pid))::integer AS n FROM pg_stat_activity
       WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = $1`,
      [`switchyard ${store.replicaId}`.slice(0, 63)],
    );
    expect(ended[0]!.n).toBeGreaterThan(0);
    await waitFor(() => errors.length > 0, { message: "the idle connections' errors" });
    const back = await waitFor(
      async () => {
        await store.touch(Date.now());
        return store.getCursor();
      },
      { message: "the store works again" },
    );
    expect(back).toBe("c-1");
    expect(await store.countUnfinished()).toBe(1);
    expect(errors.every((e) => e.message.startsWith("[switchyard] [postgres]"))).toBe(true);
  });

  it("says clearly when it cannot open the database, without the password", async () => {
    const target = new URL(POSTGRES_URL);
    target.password = "hunter2";
    target.pathname = "/no_such_database_here";
    const error = await openPostgresStore(target.toString()).then(
      () => undefined,
      (e: Error & { code?: string }) => e,
    );
    expect(error?.code).toBe("SWITCHYARD_STORE_UNAVAILABLE");
    expect(error?.message).toMatch(
      /^\[switchyard\] \[postgres\] cannot open the state in postgres:\/\/.*:\*\*\*@/,
    );
    expect(error?.message).toContain("no_such_database_here");
    expect(error?.message).not.toContain("hunter2");

    const refused = await openPostgresStore("postgres://app:hunter2@127.0.0.1:1/x").then(
      () => undefined,
      (e: Error) => e,
    );
    expect(refused?.message).toContain("postgres://app:***@127.0.0.1:1/x");
    expect(refused?.message).toMatch(/ECONNREFUSED/);
    expect(refused?.message).not.toContain("hunter2");
  });
  it("adds the attempts of replicas recording into the same minute at once", async () => {
    const a = await open();
    const b = await open();
    const minute = 1_700_000_040_000;
    // Each batch touches the same buckets (two actions, two tenants, one minute) from both replicas at the
    // same time.
    const batch = (replica: string) =>
      Array.from({ length: 20 }, (_, i) => ({
        action: i % 2 ? "x" : "y",
        eventId: `evt_${i}`,
        eventType: "user.created",
        attempt: 1,
        startedAt: minute + i * 1_000,
        durationMs: 3,
        outcome: i % 5 === 0 ? ("retrying" as const) : ("delivered" as const),
        replica,
        ...(i % 4 >= 2 ? { tenant: "prod" } : {}),
      }));
    await Promise.all(
      [a, b].flatMap((store) =>
        Array.from({ length: 10 }, () => store.recordAttempts(batch(store.replicaId))),
      ),
    );
    expect(await a.activity(minute)).toEqual([
      { action: "x", minute, delivered: 160, retrying: 40, dead: 0, stale: 0, durationMs: 600 },
      { action: "y", minute, delivered: 160, retrying: 40, dead: 0, stale: 0, durationMs: 600 },
    ]);
    expect(await b.activity(minute, "prod")).toEqual([
      { action: "x", minute, delivered: 80, retrying: 20, dead: 0, stale: 0, durationMs: 300 },
      { action: "y", minute, delivered: 80, retrying: 20, dead: 0, stale: 0, durationMs: 300 },
    ]);
    expect(await b.searchAttempts({ limit: 500, outcome: "retrying" })).toHaveLength(80);
  });
});
