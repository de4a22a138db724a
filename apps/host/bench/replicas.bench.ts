// PostgreSQL state and replicas, with the real host process (built dist) against the peer process:
// - postgres:  the 3-action throughput run on Postgres state beside the same run on SQLite state (and the
//              raw-POST limit of the receiver), all in this run.
// - replicas:  deliveries/s of two replicas on one Postgres schema beside one replica, into a receiver that
//              answers after 50 ms.
// - failover:  from the leader's SIGKILL to the first delivery, by the new leader, of an event emitted after
//              the kill, with the default lease (5 s).
// BENCH_ONLY=postgres|replicas|failover runs one part; BENCH_QUICK=1 shorter runs. Needs a PostgreSQL server
// (SWITCHYARD_TEST_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/test); each run has its own schema.
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createEventFactory } from "@switchyard/testing";
import { reportBench } from "../../../scripts/bench-report.ts";
import { openPostgresStore } from "../src/store/postgres/store.ts";
import { createTestSchema, postgresAvailable, type TestSchema } from "../test/postgres.ts";
import {
  cpuSeconds,
  httpActions,
  rawPosts,
  startHost,
  startPeer,
  stopHost,
  throughput,
  until,
  writeConfig,
} from "./harness.ts";

const quick = process.env.BENCH_QUICK === "1";
const only = process.env.BENCH_ONLY;
const part = (name: string) => !only || only === name;

if (!(await postgresAvailable())) {
  console.log("replica benchmarks skipped: no PostgreSQL server");
  process.exit(0);
}

const peer = await startPeer();

/** Hosts started in a temporary folder of their own, each with this config; stopped by `stop`. */
function startHosts(config: (dir: string) => string, count: number) {
  const dirs = Array.from({ length: count }, () => mkdtempSync(join(tmpdir(), "switchyard-bench-")));
  const hosts = dirs.map((dir) => startHost(config(dir)));
  return {
    hosts,
    async stop() {
      await Promise.all(hosts.map(stopHost));
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    },
  };
}

// 1. Postgres state against SQLite state: the e2e 3-action run, each engine between two raw runs (this
// machine's speed drifts within minutes), the Postgres run on a fresh schema. The host's CPU figures leave
// out the database server's, which shares this machine's two cores.
if (part("postgres")) {
  const N = quick ? 20_000 : 100_000;
  await peer.call("appendMany", { count: N });
  await rawPosts(peer, N / 5); // warm-up: the client's code compiled
  const raws = [await rawPosts(peer, N)];
  const sqlite = (await throughput(peer, 3, N)) * 3;
  raws.push(await rawPosts(peer, N));
  const schema = await createTestSchema();
  const postgres = (await throughput(peer, 3, N, { state: schema.url })) * 3;
  await schema.drop();
  raws.push(await rawPosts(peer, N));
  const limit = (raws[1]! + raws[2]!) / 2;
  console.log(
    `raw POSTs: ${raws.map(Math.round).join(", ")} requests/s; 3 actions: SQLite ${Math.round(sqlite)} deliveries/s (${(sqlite / ((raws[0]! + raws[1]!) / 2)).toFixed(2)}× raw), Postgres ${Math.round(postgres)} deliveries/s (${(postgres / limit).toFixed(2)}× raw)`,
  );
  reportBench({
    name: "host e2e, 3 actions on Postgres state (deliveries/s)",
    unit: "del/s",
    value: postgres,
    baseline: { name: "same on SQLite", value: sqlite },
    ratio: postgres / sqlite,
    target: "≥ 0.4× SQLite",
    pass: postgres / sqlite >= 0.4,
  });
  reportBench({
    name: "host e2e, 3 actions on Postgres state vs raw POSTs",
    unit: "del/s",
    value: postgres,
    baseline: { name: "raw POST req/s", value: limit },
    ratio: postgres / limit,
  });
}

// 2. Two replicas against one, into a receiver that answers after 50 ms: one host's deliveries are bounded by
// concurrency / latency (16 / 50 ms = 320/s for its one action), whatever its CPU, so a second replica can
// only help by claiming deliveries that the first has not taken into memory. What is compared, same events
// each time, each run on a fresh schema:
// - "store backlog": the events are already stored as due rows (a backlog left by an outage, or a stream read
//   faster than delivered), and no new events come: the hosts only claim and deliver. This is the replicas'
//   delivery capacity, the figure with the target.
// - "stream backlog": the same number of events waits in the tenant's stream instead, read by the leader.
//   What the standby gets depends on how far the leader reads ahead of its own deliveries into the store.
const DELAY_MS = 50;
const BACKLOG = quick ? 3_000 : 10_000;
const slowAction = httpActions(peer.ready, ["/slow"]);

/**
 * One replica run's rates: steady (10% to 90% of the deliveries) and first to last delivery; the hosts' CPU
 * per delivery (all of them, startup included), and the machine's load average at the end.
 */
type Rates = { steady: number; whole: number; cpuPerDelivery: number; load: string };

/**
 * Deliveries/s of `count` replicas on a fresh schema that `prepare` fills; `from` is where they read the stream
 * ("": from its latest event, so only what is stored is delivered). The figure compared is the steady rate,
 * between the 10% and the 90% mark: the replicas start together but each opens its connections and warms up
 * for about a second at first (at a few thousand deliveries that ramp alone moved the ratio by 0.3), and the
 * last claims end unevenly. First-to-last is printed beside it.
 */
async function replicaRun(
  count: number,
  from: string,
  prepare: (schema: TestSchema) => Promise<void>,
): Promise<Rates> {
  const schema = await createTestSchema();
  let run: ReturnType<typeof startHosts> | undefined;
  try {
    await prepare(schema);
    await peer.call("reset", { delayMs: DELAY_MS });
    run = startHosts((dir) => writeConfig(dir, peer.ready, slowAction, { state: schema.url, from }), count);
    const hosts = run.hosts;
    let at10 = 0;
    let at90 = 0;
    const done = await until(
      async () => {
        const { received } = await peer.stats();
        if (!at10 && received >= BACKLOG * 0.1) at10 = performance.now();
        if (!at90 && received >= BACKLOG * 0.9) at90 = performance.now();
        return received >= BACKLOG;
      },
      300_000,
      50,
    );
    const s = await peer.stats();
    const cpu = hosts.reduce((sum, host) => sum + cpuSeconds(host.pid!).total, 0);
    if (!done) throw new Error(`only ${s.received} of ${BACKLOG} deliveries arrived`);
    return {
      steady: (BACKLOG * 0.8) / ((at90 - at10) / 1000),
      whole: BACKLOG / ((s.last - s.first) / 1000),
      cpuPerDelivery: (cpu * 1e6) / BACKLOG,
      load: readFileSync("/proc/loadavg", "utf8").split(" ")[0]!,
    };
  } finally {
    // Hosts first: they hold connections to the schema.
    await run?.stop();
    await schema.drop();
  }
}

if (part("replicas")) {
  const events = createEventFactory({ seed: 7 }).many(BACKLOG);
  /** Store the events as due deliveries of the one action, as a replica would that read them unclaimed. */
  const storeBacklog = async (schema: TestSchema) => {
    const store = await openPostgresStore(schema.url);
    for (let i = 0; i < events.length; i += 1_000) {
      const rows = events.slice(i, i + 1_000).map((event) => ({
        event,
        payload: JSON.stringify(event),
        deliveries: [{ action: "a1", orderKey: null, held: false }],
      }));
      await store.ingest(rows, undefined);
    }
    await store.close();
  };
  const one = await replicaRun(1, "", storeBacklog);
  const two = await replicaRun(2, "", storeBacklog);
  // The stream's backlog: events appended now, read from their time on (earlier parts' events are older).
  const since = new Date().toISOString();
  await new Promise((resolve) => setTimeout(resolve, 10));
  await peer.call("appendMany", { count: BACKLOG });
  const fromSince = `, fromTimestamp: "${since}"`;
  const streamOne = await replicaRun(1, fromSince, async () => {});
  const streamTwo = await replicaRun(2, fromSince, async () => {});
  const line = (name: string, a: Rates, b: Rates) =>
    `${name}: one replica ${Math.round(a.steady)}/s, two ${Math.round(b.steady)}/s (${(b.steady / a.steady).toFixed(2)}×); first to last delivery ${Math.round(a.whole)}/s and ${Math.round(b.whole)}/s (${(b.whole / a.whole).toFixed(2)}×); hosts' CPU per delivery ${Math.round(a.cpuPerDelivery)} µs and ${Math.round(b.cpuPerDelivery)} µs; load average ${a.load} and ${b.load}`;
  console.log(`${BACKLOG} deliveries into a ${DELAY_MS} ms receiver, steady rate (10% to 90%):`);
  console.log(`  ${line("backlog in the store", one, two)}`);
  console.log(`  ${line("backlog in the stream", streamOne, streamTwo)}`);
  reportBench({
    name: `two replicas, ${BACKLOG / 1000}k stored backlog, 50 ms receiver (deliveries/s)`,
    unit: "del/s",
    value: two.steady,
    baseline: { name: "one replica", value: one.steady },
    ratio: two.steady / one.steady,
    target: "≥ 1.7×",
    pass: two.steady / one.steady >= 1.7,
  });
  reportBench({
    name: `two replicas, ${BACKLOG / 1000}k backlog in the stream, 50 ms receiver (deliveries/s)`,
    unit: "del/s",
    value: streamTwo.steady,
    baseline: { name: "one replica", value: streamOne.steady },
    ratio: streamTwo.steady / streamOne.steady,
  });
}

// 3. Failover: two replicas read a live stream (from its latest event); once the leader has delivered a first
// event (so a cursor is stored), it is killed (SIGKILL: no release of the lease), one event is appended, and
// the time to that event's first delivery is measured. The standby takes over once the lease (5 s, renewed
// every 5/3 s) expires and its next renewal tick finds it free, then connects and reads from the cursor.
if (part("failover")) {
  const rounds = quick ? 1 : 3;
  const times: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const schema = await createTestSchema();
    await peer.call("reset");
    const run = startHosts(
      (dir) =>
        writeConfig(dir, peer.ready, httpActions(peer.ready, ["/failover"]), { state: schema.url, from: "" }),
      2,
    );
    try {
      const leaderOf = async (): Promise<ChildProcess | undefined> => {
        // Before the first host made the tables, there is no lease.
        const [row] = await schema
          .sql<{ holder: string | null }>(
            "SELECT holder FROM stream_lease WHERE id = 1 AND expires_at > clock_timestamp()",
          )
          .catch(() => []);
        return run.hosts.find((host) => row?.holder?.includes(`-${host.pid}-`));
      };
      const led = await until(async () => (await leaderOf()) !== undefined, 30_000);
      // The leader reads: an event appended now is delivered (and the stream's cursor stored). One appended
      // before its stream connected is never read (a fresh stream starts at its latest event): append again.
      const reading = await until(
        async () => {
          await peer.call("appendMarked");
          return until(async () => (await peer.stats()).markerAt > 0, 2_000, 50);
        },
        30_000,
        0,
      );
      const leader = await leaderOf();
      if (!led || !reading || !leader) throw new Error("no replica led the stream");
      const killed = Date.now();
      leader.kill("SIGKILL");
      await peer.call("appendMarked");
      const delivered = await until(async () => (await peer.stats()).markerAt > 0, 60_000, 20);
      const { markerAt } = await peer.stats();
      const standby = run.hosts.find((host) => host !== leader)!;
      const newLeader = await leaderOf();
      if (!delivered) throw new Error("the event emitted after the kill was not delivered within 60 s");
      if (newLeader !== standby) throw new Error("the standby did not take the lease");
      times.push(markerAt - killed);
    } finally {
      await run.stop();
      await schema.drop();
    }
  }
  const worst = Math.max(...times);
  console.log(`failover, kill to first delivery of a new event: ${times.map((t) => `${t} ms`).join(", ")}`);
  reportBench({
    name: `failover: leader SIGKILL to first new delivery (lease 5 s${rounds > 1 ? `, worst of ${rounds}` : ""})`,
    unit: "ms",
    value: worst,
    target: "< 10,000 ms",
    pass: worst < 10_000,
  });
}

await peer.call("exit");
process.exit(0);
