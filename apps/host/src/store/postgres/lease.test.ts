import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createEventFactory, waitFor } from "@switchyard/testing";
import pg from "pg";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestSchema, postgresAvailable, type TestSchema } from "../../../test/postgres.js";
import { ingestRow } from "../../../test/store-conformance.js";
import { openPostgresStore, type PostgresStore } from "./store.js";

const factory = createEventFactory({ seed: 31 });
const LEADER = fileURLToPath(new URL("../../../test/fixtures/pg-leader.ts", import.meta.url));

describe.skipIf(!(await postgresAvailable()))("postgres stream lease", () => {
  let schema: TestSchema;
  let stores: PostgresStore[] = [];
  let child: ChildProcess | undefined;
  const open = async (leaseMs = 5000) => {
    const store = await openPostgresStore(schema.url, { leaseMs });
    stores.push(store);
    return store;
  };

  /** A child process (test/fixtures/pg-leader.ts) that took the lease and ingested once; its output so far. */
  const leadingChild = async (leaseMs: number) => {
    const started = spawn(process.execPath, ["--import", "tsx", LEADER, schema.url, String(leaseMs)], {
      stdio: ["pipe", "pipe", "inherit"],
    });
    child = started;
    const leader = { process: started, output: "" };
    started.stdout!.on("data", (chunk: Buffer) => {
      leader.output += chunk.toString();
    });
    await waitFor(() => leader.output.includes("leader"), { timeoutMs: 20_000, message: "the child leads" });
    started.stdin!.write("ingest\n");
    await waitFor(() => leader.output.includes("ingested"), { message: "the child ingests" });
    return leader;
  };

  beforeEach(async () => {
    schema = await createTestSchema();
    stores = [];
  });
  afterEach(async () => {
    if (child && child.exitCode === null) {
      child.kill("SIGCONT");
      child.kill("SIGKILL");
    }
    child = undefined;
    for (const store of stores) await store.close().catch(() => {});
    await schema.drop();
  });

  it("gives each tenant's stream a lease of its own, spread over the live replicas (2/1, not 3/0)", async () => {
    const a = await open();
    const b = await open();
    const lease = (store: PostgresStore, tenant: string) => store.leadershipOf!(tenant);
    expect(await lease(a, "t1").acquire()).toBe(true);
    // b is alive and leads nothing: a takes no further stream.
    expect(await lease(a, "t2").acquire()).toBe(false);
    expect(await lease(b, "t2").acquire()).toBe(true);
    // Both lead one: either may take the third; not a fourth for b then.
    expect(await lease(b, "t3").acquire()).toBe(true);
    expect(await lease(a, "t1").acquire()).toBe(true);
    expect(await lease(a, "t2").acquire()).toBe(false);
    expect(await lease(b, "t2").leader()).toBe(b.replicaId);
    expect(await lease(a, "t1").shouldYield!()).toBe(false);
    // Each tenant's cursor moves only under its own lease.
    const row = ingestRow(factory.many(1)[0]!, ["x"]);
    await expect(a.ingest([row], "t1-cursor", "t1")).resolves.toBeDefined();
    await expect(a.ingest([row], "t2-cursor", "t2")).rejects.toMatchObject({ code: "SWITCHYARD_FENCED" });
    expect(await a.getCursor("t1")).toBe("t1-cursor");
    expect(await a.getCursor("t2")).toBeUndefined();
    // The same event id is another event for another tenant, a duplicate for its own.
    expect((await b.ingest([row], "t2-cursor", "t2")).keys[0]).toBeDefined();
    expect((await b.ingest([row], undefined, "t2")).keys).toEqual([undefined]);
  });

  it("a replica that leads two more streams than another live one yields its last, and the other takes it", async () => {
    const a = await open();
    const lease = (store: PostgresStore, tenant: string) => store.leadershipOf!(tenant);
    for (const tenant of ["t1", "t2", "t3"]) expect(await lease(a, tenant).acquire()).toBe(true);
    const b = await open();
    expect(await lease(a, "t1").shouldYield!()).toBe(false);
    expect(await lease(a, "t3").shouldYield!()).toBe(true);
    await lease(a, "t3").release();
    // Freed: a, which leads more, does not take it back; b does.
    expect(await lease(a, "t3").acquire()).toBe(false);
    expect(await lease(b, "t3").acquire()).toBe(true);
    expect(await lease(a, "t2").shouldYield!()).toBe(false);
  });

  it("a free lease nobody else takes for a lease period is anyone's (a live replica that does not read it)", async () => {
    const a = await open(200);
    const b = await open(200);
    const lease = (store: PostgresStore, tenant: string) => store.leadershipOf!(tenant);
    expect(await lease(a, "t1").acquire()).toBe(true);
    expect(await lease(b, "t0").acquire()).toBe(true);
    await lease(b, "t0").release();
    // b leads none now; a may not take t0 until it has been free for a lease period.
    expect(await lease(a, "t0").acquire()).toBe(false);
    await waitFor(async () => lease(a, "t0").acquire(), { message: "a takes the unclaimed lease" });
  });

  it("has one holder at a time; only the holder ingests", async () => {
    const a = await open();
    const b = await open();
    expect(await a.leadership.leader()).toBeUndefined();
    expect(await a.leadership.acquire()).toBe(true);
    expect(await b.leadership.acquire()).toBe(false);
    expect(await a.leadership.acquire()).toBe(true);
    expect(await b.leadership.leader()).toBe(a.replicaId);
    await a.ingest([ingestRow(factory.many(1)[0]!, ["x"])], "a-1");
    await expect(b.ingest([ingestRow(factory.many(1)[0]!, ["x"])], "b-1")).rejects.toMatchObject({
      code: "SWITCHYARD_FENCED",
    });
    expect(await b.getCursor()).toBe("a-1");
    expect(await b.countUnfinished()).toBe(1);
    // Adding events without a cursor needs no lease: `send-test`, and the webhook source on any replica,
    // whose deliveries held in memory are this replica's own in-flight rows.
    await b.ingest([ingestRow(factory.many(1)[0]!, ["x"])], undefined);
    await b.ingest([ingestRow(factory.many(1)[0]!, ["x"], { held: true })], undefined);
    expect(await b.countUnfinished()).toBe(3);
  });

  it("is taken over once it expires, by the database's clock, and fences the deposed leader", async () => {
    const a = await open(300);
    const b = await open(300);
    expect(await a.leadership.acquire()).toBe(true);
    const [token] = await schema.sql<{ token: string }>("SELECT token FROM stream_lease");
    // `a` stops renewing: `b` takes over after expiry, with a new token.
    await waitFor(() => b.leadership.acquire(), { message: "takeover" });
    const [next] = await schema.sql<{ token: string; holder: string }>(
      "SELECT token, holder FROM stream_lease",
    );
    expect(next).toEqual({ token: String(Number(token!.token) + 1), holder: b.replicaId });
    await expect(a.ingest([ingestRow(factory.many(1)[0]!, ["x"])], "a-late")).rejects.toMatchObject({
      code: "SWITCHYARD_FENCED",
    });
    expect(await a.getCursor()).toBeUndefined();
    expect(await a.countUnfinished()).toBe(0);
    // Even after the lease expires again and `a` takes it back, its ingest uses the new token.
    await waitFor(() => a.leadership.acquire(), { message: "takeback" });
    await a.ingest([], "a-2");
    expect(await b.getCursor()).toBe("a-2");
  });

  it("hands over at once on release", async () => {
    const a = await open(60_000);
    const b = await open(60_000);
    expect(await a.leadership.acquire()).toBe(true);
    expect(await b.leadership.acquire()).toBe(false);
    await a.leadership.release();
    expect(await a.leadership.leader()).toBeUndefined();
    expect(await b.leadership.acquire()).toBe(true);
    await expect(a.ingest([], "a-1")).rejects.toMatchObject({ code: "SWITCHYARD_FENCED" });
  });

  it("fences a leader that was paused (SIGSTOP) while another replica took over", async () => {
    const leaseMs = 1000;
    const leader = await leadingChild(leaseMs);

    const standby = await open(leaseMs);
    expect(await standby.leadership.acquire()).toBe(false);
    leader.process.kill("SIGSTOP");
    await waitFor(() => standby.leadership.acquire(), { timeoutMs: 10_000, message: "takeover" });
    await standby.ingest([], "standby-1");
    leader.process.kill("SIGCONT");
    leader.process.stdin!.write("ingest\n");
    await waitFor(() => leader.output.includes("failed"), { message: "the child's ingest fails" });
    expect(leader.output).toContain("failed SWITCHYARD_FENCED");
    expect(await standby.getCursor()).toBe("standby-1");
    expect(await standby.leadership.leader()).toBe(standby.replicaId);
    leader.process.stdin!.write("quit\n");
  }, 30_000);

  it("cuts a leader paused inside its ingest transaction, so the standby takes over and the paused commit fails", async () => {
    const leaseMs = 1000;
    const leader = await leadingChild(leaseMs);

    // Hold the cursor row, so that the child's next ingest stops inside its transaction (after its fence,
    // holding the lease row), then pause the child there and let its statement finish.
    const holder = new pg.Client({ connectionString: schema.url });
    await holder.connect();
    await holder.query("BEGIN");
    await holder.query("SELECT * FROM meta WHERE key = 'cursor' FOR UPDATE");
    leader.process.stdin!.write("ingest\n");
    await waitFor(
      async () =>
        (
          await schema.sql(
            "SELECT 1 FROM pg_stat_activity WHERE application_name LIKE 'switchyard %' AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO meta%'",
          )
        ).length > 0,
      { message: "the child waits inside its transaction" },
    );
    leader.process.kill("SIGSTOP");
    await holder.query("COMMIT");
    await holder.end();

    const standby = await open(leaseMs);
    await waitFor(() => standby.leadership.acquire().catch(() => false), {
      timeoutMs: 15_000,
      message: "takeover from the paused transaction",
    });
    await standby.ingest([], "standby-1");
    leader.process.kill("SIGCONT");
    await waitFor(() => leader.output.includes("failed"), { message: "the child's commit fails" });
    expect(await standby.getCursor()).toBe("standby-1");
    expect(await schema.sql("SELECT event_id FROM events ORDER BY id")).toEqual([
      { event_id: "evt_child_1" },
    ]);
    leader.process.stdin!.write("quit\n");
  }, 40_000);
});
