// The AWS and SQL plugins (issue 27), each beside a bare loop with the same client in the same run:
// - sql: users' events through the built host into a PostgreSQL table, upserts/s, against a hand-written
//   loop of batched guarded upserts with `pg` (the same pool size and batch size); beside them, to tell where
//   the time goes, the same host with a no-op action file (the host's own pace, the most any plugin can reach
//   through it) and the plugin's action called directly (the plugin's own pace);
// - eventbridge and sqs: entries/s through the plugin's action (deliveries called concurrently, as the host
//   calls them), against the bare SDK sending full 10-entry calls, on the same fake on 127.0.0.1.
// Pairs alternate (ours, then the baseline, RUNS times); the median ratio is reported.
// `node --conditions=@switchyard/source --import tsx bench/destinations.bench.ts` (needs `pnpm build` for
// the host; BENCH_QUICK=1 smaller; BENCH_ONLY=sql|eventbridge|sqs one part).
import { setMaxListeners } from "node:events";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { SendMessageBatchCommand, SQSClient } from "@aws-sdk/client-sqs";
import { type Action, type Auth0Event, createActionCache } from "@switchyard/core";
import eventbridge from "@switchyard/plugin-eventbridge";
import sql from "@switchyard/plugin-sql";
import sqs from "@switchyard/plugin-sqs";
import { createEventFactory, startFakeEventBridge, startFakeSqs, startFakeTenant } from "@switchyard/testing";
import pg from "pg";
import { reportBench } from "../../../scripts/bench-report.ts";
import { POSTGRES_URL, postgresAvailable } from "../test/postgres.ts";
import { cpuSeconds, postgresCpu, startHost, stopHost, until } from "./harness.ts";

const quick = process.env.BENCH_QUICK === "1";
const only = process.env.BENCH_ONLY;
const RUNS = quick ? 1 : 3;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** `users` users, each created then updated `updates` times: the stream a users table sees. */
function userEvents(users: number, updates: number): Auth0Event[] {
  const factory = createEventFactory({ seed: 27 });
  const ids = Array.from({ length: users }, () => factory.byType["user.created"]().data.object.user_id);
  const events: Auth0Event[] = ids.map((user_id) => factory.byType["user.created"]({ user_id }));
  for (let round = 0; round < updates; round++) {
    for (const user_id of ids) events.push(factory.byType["user.updated"]({ user_id, name: `v${round}` }));
  }
  return events;
}

async function pgQuery(sql: string, params: unknown[] = []) {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/** CPU µs per event of each part, beside the rates: steadier than rates on a shared machine. */
const spent = { host: new Map<string, number[]>(), postgres: new Map<string, number[]>() };
function record(kind: keyof typeof spent, part: string, seconds: number, events: number) {
  const list = spent[kind].get(part) ?? [];
  list.push((seconds * 1e6) / events);
  spent[kind].set(part, list);
}

/** The plugin through the built host: events/s from the host's start to the table's final state. */
async function sqlThroughHost(events: Auth0Event[], table: string): Promise<number> {
  const tenant = await startFakeTenant({ heartbeatMs: 1_000 });
  tenant.append(events);
  const last = new Map<string, string>();
  for (const event of events) last.set((event.data.object as { user_id: string }).user_id, event.id);
  const finals = [...last.values()];
  const dir = mkdtempSync(join(tmpdir(), "switchyard-bench-sql-"));
  const config = join(dir, "switchyard.yaml");
  // Concurrency 400 keeps 4 transactions of 100 changes in flight, as the baseline keeps 4 statements of 100.
  writeFileSync(
    config,
    `source:
  auth0: { domain: "${tenant.url}", token: "${tenant.token}", fromTimestamp: "2000-01-01T00:00:00Z" }
state: ./state
server: { enabled: false }
log: { level: warn }
actions:
  - name: users
    plugin: "@switchyard/plugin-sql"
    events: ["user.*"]
    concurrency: 400
    with: { url: "${POSTGRES_URL}", table: ${table}, poolSize: 4, batchSize: 100 }
`,
  );
  const host = startHost(config);
  // One connection for the polls: a new one each time would cost the server a process start per poll.
  const poller = new pg.Client({ connectionString: POSTGRES_URL });
  await poller.connect();
  try {
    // The clock starts at the first row: the host's start-up (a second or two) is not the plugin's throughput.
    const exists = async () =>
      ((await poller.query(`SELECT 1 FROM ${table} LIMIT 1`).catch(() => undefined))?.rows.length ?? 0) > 0;
    if (!(await until(exists, 60_000, 20))) throw new Error("the host wrote no row");
    const started = performance.now();
    const host0 = cpuSeconds(host.pid!).total;
    const postgres0 = postgresCpu();
    // The table appears with the first delivery: until then the count fails, and counts as not done.
    const finalRows = async () =>
      Number(
        (await poller.query(`SELECT count(*) AS n FROM ${table} WHERE event_id = ANY($1)`, [finals])).rows[0]
          ?.n,
      );
    const done = await until(async () => (await finalRows().catch(() => 0)) === finals.length, 300_000, 100);
    if (!done) throw new Error("the table never reached its final state");
    const rate = events.length / ((performance.now() - started) / 1000);
    record("host", "sql", cpuSeconds(host.pid!).total - host0, events.length);
    record("postgres", "sql", postgresCpu() - postgres0, events.length);
    return rate;
  } finally {
    await poller.end();
    await stopHost(host);
    await tenant.close();
    rmSync(dir, { recursive: true, force: true });
    await pgQuery(`DROP TABLE IF EXISTS ${table}`);
    await pgQuery(`DROP TABLE IF EXISTS ${table}_applied`);
  }
}

/**
 * The same host and events with a no-op action file: deliveries/s from the first delivery to the last. No plugin
 * can be faster through the host than this.
 */
async function noopThroughHost(events: Auth0Event[]): Promise<number> {
  const tenant = await startFakeTenant({ heartbeatMs: 1_000 });
  tenant.append(events);
  const dir = mkdtempSync(join(tmpdir(), "switchyard-bench-noop-"));
  const done = join(dir, "rate.txt");
  const first = join(dir, "first.txt");
  writeFileSync(
    join(dir, "noop.mjs"),
    `import { writeFileSync } from "node:fs";
let seen = 0;
let started = 0;
export async function onExecuteEventStream() {
  if (seen++ === 0) {
    started = performance.now();
    writeFileSync(${JSON.stringify(first)}, "");
  }
  if (seen === ${events.length}) writeFileSync(${JSON.stringify(done)}, String(seen / ((performance.now() - started) / 1000)));
}
`,
  );
  const config = join(dir, "switchyard.yaml");
  writeFileSync(
    config,
    `source:
  auth0: { domain: "${tenant.url}", token: "${tenant.token}", fromTimestamp: "2000-01-01T00:00:00Z" }
state: ./state
server: { enabled: false }
log: { level: warn }
actions:
  - name: users
    plugin: ./noop.mjs
    events: ["user.*"]
    concurrency: 400
`,
  );
  const host = startHost(config);
  try {
    const rate = async () => Number(await readFile(done, "utf8").catch(() => "0"));
    // As for the plugin, the host's CPU is counted from its first delivery (the action marks it in a file).
    if (!(await until(async () => existsSync(first), 60_000, 20)))
      throw new Error("the no-op host never started");
    const host0 = cpuSeconds(host.pid!).total;
    if (!(await until(async () => (await rate()) > 0, 300_000, 20)))
      throw new Error("the no-op host never finished");
    record("host", "no-op", cpuSeconds(host.pid!).total - host0, events.length);
    return await rate();
  } finally {
    await stopHost(host);
    await tenant.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The plugin's action called directly, 400 deliveries under way (as the host's concurrency runs them). */
async function sqlPluginAlone(events: Auth0Event[], table: string): Promise<number> {
  const action = sql({ url: POSTGRES_URL, table, poolSize: 4, batchSize: 100 });
  try {
    // The first delivery creates the table: that is start-up, not throughput.
    await throughAction(action, events.slice(0, 1), 1);
    const postgres0 = postgresCpu();
    const rate = await throughAction(action, events.slice(1), 400);
    record("postgres", "alone", postgresCpu() - postgres0, events.length);
    return rate;
  } finally {
    await action.close?.();
    await pgQuery(`DROP TABLE IF EXISTS ${table}`);
    await pgQuery(`DROP TABLE IF EXISTS ${table}_applied`);
  }
}

/** The baseline: batches of 100 guarded upserts, 4 connections, straight from `pg`. */
async function sqlBareLoop(events: Auth0Event[], table: string): Promise<number> {
  await pgQuery(
    `CREATE TABLE ${table} (user_id text PRIMARY KEY, profile jsonb NOT NULL, event_time timestamptz NOT NULL, event_id text NOT NULL)`,
  );
  const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 4 });
  const started = performance.now();
  const postgres0 = postgresCpu();
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < events.length) {
        // One change per user in a statement, as ON CONFLICT requires (the plugin dedupes its batches too).
        const batch = new Map<string, Auth0Event>();
        for (const event of events.slice(next, next + 100)) {
          batch.set((event.data.object as { user_id: string }).user_id, event);
        }
        next += 100;
        const params: unknown[] = [];
        const rows = [...batch.values()].map((event) => {
          params.push(
            (event.data.object as { user_id: string }).user_id,
            JSON.stringify(event.data.object),
            event.time,
            event.id,
          );
          const n = params.length;
          return `($${n - 3}, $${n - 2}, $${n - 1}, $${n})`;
        });
        await pool.query(
          `INSERT INTO ${table} AS t VALUES ${rows.join(", ")} ON CONFLICT (user_id) DO UPDATE SET profile = EXCLUDED.profile, event_time = EXCLUDED.event_time, event_id = EXCLUDED.event_id WHERE t.event_time < EXCLUDED.event_time`,
          params,
        );
      }
    }),
  );
  const rate = events.length / ((performance.now() - started) / 1000);
  record("postgres", "bare", postgresCpu() - postgres0, events.length);
  await pool.end();
  await pgQuery(`DROP TABLE IF EXISTS ${table}`);
  return rate;
}

/** Deliveries through an action, `inFlight` at a time, as the host's concurrency runs them. */
async function throughAction(action: Action, events: Auth0Event[], inFlight: number): Promise<number> {
  // One signal shared by every delivery, as the host's deadlines share theirs (and lift the listener limit).
  const signal = new AbortController().signal;
  setMaxListeners(0, signal);
  const api = {
    cache: createActionCache(),
    message: { fail() {} },
    log: { debug() {}, info() {}, warn() {}, error() {} },
    signal,
    attempt: 1,
    action: { name: "bench" },
  };
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < events.length) {
        const message = events[next++]!;
        await action.onExecuteEventStream({ message, secrets: {} }, api);
      }
    }),
  );
  return events.length / ((performance.now() - started) / 1000);
}

/** The bare SDK: full 10-entry calls, `inFlight / 10` at a time. */
async function bareCalls(
  send: (batch: Auth0Event[]) => Promise<void>,
  events: Auth0Event[],
  inFlight: number,
) {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: inFlight / 10 }, async () => {
      while (next < events.length) {
        const batch = events.slice(next, next + 10);
        next += 10;
        await send(batch);
      }
    }),
  );
  return events.length / ((performance.now() - started) / 1000);
}

function reportPair(name: string, unit: string, ours: number[], bare: number[], baselineName: string) {
  const ratios = ours.map((value, i) => value / bare[i]!);
  const ratio = median(ratios);
  console.log(
    `${name}: ours ${ours.map(Math.round).join(", ")}; bare ${bare.map(Math.round).join(", ")}; ratios ${ratios.map((r) => r.toFixed(2)).join(", ")}`,
  );
  reportBench({
    name,
    unit,
    value: median(ours),
    baseline: { name: baselineName, value: median(bare) },
    ratio,
    target: "≥ 0.7×",
    pass: ratio >= 0.7,
  });
}

// Clients get copies of the fake's credentials: the SDK marks the object it is given (a `$source` key).
const IN_FLIGHT = 80;

if (!only || only === "eventbridge") {
  const fake = await startFakeEventBridge();
  const events = createEventFactory({ seed: 5 }).many(quick ? 5_000 : 20_000);
  const client = new EventBridgeClient({
    endpoint: fake.endpoint,
    region: fake.region,
    credentials: { ...fake.credentials },
    maxAttempts: 1,
  });
  const ours: number[] = [];
  const bare: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const action = eventbridge({
      endpoint: fake.endpoint,
      region: fake.region,
      credentials: { ...fake.credentials },
    });
    ours.push(await throughAction(action, events, IN_FLIGHT));
    await action.close?.();
    bare.push(
      await bareCalls(
        async (batch) => {
          await client.send(
            new PutEventsCommand({
              Entries: batch.map((e) => ({
                EventBusName: "default",
                Source: `auth0.${e.a0tenant}`,
                DetailType: e.type,
                Detail: JSON.stringify(e),
                Time: new Date(e.time),
              })),
            }),
          );
        },
        events,
        IN_FLIGHT,
      ),
    );
  }
  client.destroy();
  await fake.close();
  reportPair(
    "eventbridge: entries/s through the plugin vs bare PutEvents",
    "entries/s",
    ours,
    bare,
    "bare SDK, 10 per call",
  );
}

if (!only || only === "sqs") {
  const fake = await startFakeSqs();
  const events = createEventFactory({ seed: 6 }).many(quick ? 5_000 : 20_000);
  const client = new SQSClient({
    endpoint: fake.endpoint,
    region: fake.region,
    credentials: { ...fake.credentials },
    maxAttempts: 1,
  });
  const ours: number[] = [];
  const bare: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const queueUrl = fake.queueUrl(`bench-${run}.fifo`);
    const action = sqs({
      queueUrl,
      endpoint: fake.endpoint,
      region: fake.region,
      credentials: { ...fake.credentials },
    });
    ours.push(await throughAction(action, events, IN_FLIGHT));
    await action.close?.();
    const bareUrl = fake.queueUrl(`bare-${run}.fifo`);
    bare.push(
      await bareCalls(
        async (batch) => {
          await client.send(
            new SendMessageBatchCommand({
              QueueUrl: bareUrl,
              Entries: batch.map((e, i) => ({
                Id: String(i),
                MessageBody: JSON.stringify(e),
                MessageGroupId: "g",
                MessageDeduplicationId: e.id,
              })),
            }),
          );
        },
        events,
        IN_FLIGHT,
      ),
    );
  }
  client.destroy();
  await fake.close();
  reportPair(
    "sqs: entries/s through the plugin vs bare SendMessageBatch",
    "entries/s",
    ours,
    bare,
    "bare SDK, 10 per call",
  );
}

if ((!only || only === "sql") && (await postgresAvailable())) {
  const events = userEvents(quick ? 1_000 : 2_000, quick ? 4 : 9);
  const ours: number[] = [];
  const bare: number[] = [];
  const noop: number[] = [];
  const alone: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    ours.push(await sqlThroughHost(events, `bench_sql_host_${process.pid}_${run}`));
    noop.push(await noopThroughHost(events));
    alone.push(await sqlPluginAlone(events, `bench_sql_alone_${process.pid}_${run}`));
    bare.push(await sqlBareLoop(events, `bench_sql_bare_${process.pid}_${run}`));
  }
  // Where the time goes: the host's own pace (no-op action) and the plugin's own (no host), each against the
  // same run's baseline; and the plugin through the host against the no-op host.
  const ratios = (a: number[], b: number[]) => a.map((value, i) => (value / b[i]!).toFixed(2)).join(", ");
  const perEvent = (map: Map<string, number[]>) =>
    [...map].map(([part, values]) => `${part} ${values.map(Math.round).join("/")}`).join(", ");
  console.log(
    `sql, CPU µs per event: host ${perEvent(spent.host)}; local postgres ${perEvent(spent.postgres)}`,
  );
  console.log(
    `sql, where the time goes: no-op host ${noop.map(Math.round).join(", ")} deliveries/s (vs bare: ${ratios(noop, bare)}); plugin alone ${alone.map(Math.round).join(", ")} upserts/s (vs bare: ${ratios(alone, bare)}); through the host vs the no-op host: ${ratios(ours, noop)}`,
  );
  reportPair(
    "sql: upserts/s through the host (PostgreSQL) vs batched upserts with pg",
    "upserts/s",
    ours,
    bare,
    "bare pg, 100 per statement",
  );
}
process.exit(0);
