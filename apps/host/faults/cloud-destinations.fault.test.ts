// Users' lives (created, updated, sometimes deleted) streamed through a host that is SIGKILLed now and then,
// into a PostgreSQL table, a MariaDB table, a fake EventBridge bus and a fake FIFO SQS queue. The tables must
// end equal to Auth0's final state; the queue must hold every event once, in each user's order; the bus every
// event, its first copies in each user's order.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Auth0Event } from "@switchyard/core";
import {
  createEventFactory,
  startFakeEventBridge,
  startFakeSqs,
  startFakeTenant,
  waitFor,
} from "@switchyard/testing";
import mysql from "mysql2/promise";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { type CliProcess, startCli } from "../test/cli.js";
import { POSTGRES_URL, postgresAvailable } from "../test/postgres.js";
import { cleanupList, seededRandom } from "./harness.js";

const seed = Number(process.env.FAULT_SEED ?? 20261204);
const random = seededRandom(seed);
const MYSQL_URL = process.env.SWITCHYARD_TEST_MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test";

const cleanup = cleanupList();
afterEach(() => cleanup.run());

async function mariadbAvailable(): Promise<boolean> {
  try {
    const connection = await mysql.createConnection({ uri: MYSQL_URL, connectTimeout: 3000 });
    await connection.end();
    return true;
  } catch (error) {
    if (process.env.CI === "true") throw new Error(`MariaDB is required in CI at ${MYSQL_URL}: ${error}`);
    console.warn(`skipping: no MariaDB at ${MYSQL_URL} (start one, or set SWITCHYARD_TEST_MYSQL_URL)`);
    return false;
  }
}

/** `users` users' lives, in Auth0's order: created, 2 to 6 updates, and for about a third, deleted. */
function lives(users: number): Auth0Event[] {
  const factory = createEventFactory({ seed });
  const lifelines = Array.from({ length: users }, () => {
    const created = factory.byType["user.created"]();
    const userId = created.data.object.user_id;
    const life: Auth0Event[] = [created];
    const updates = 2 + Math.floor(random() * 5);
    for (let i = 0; i < updates; i++)
      life.push(factory.byType["user.updated"]({ user_id: userId, name: `v${i}` }));
    if (random() < 0.35) life.push(factory.byType["user.deleted"]({ user_id: userId }));
    return life;
  });
  // Interleave the lives as a tenant would, keeping each user's order; times follow the stream's order.
  const stream: Auth0Event[] = [];
  while (lifelines.some((life) => life.length > 0)) {
    const open = lifelines.filter((life) => life.length > 0);
    stream.push(open[Math.floor(random() * open.length)]!.shift()!);
  }
  const start = Date.parse("2026-11-01T00:00:00Z");
  return stream.map((event, index) => ({ ...event, time: new Date(start + index * 1000).toISOString() }));
}

const userOf = (event: Auth0Event) => (event.data.object as { user_id: string }).user_id;

describe("fault suite: cloud and SQL destinations", () => {
  it(`SIGKILLs leave tables equal to Auth0's state and a FIFO queue in each user's order (seed ${seed})`, async (context) => {
    if (!(await postgresAvailable()) || !(await mariadbAvailable())) return context.skip();
    const dir = mkdtempSync(join(tmpdir(), "switchyard-cloud-faults-"));
    cleanup.add(() => rmSync(dir, { recursive: true, force: true }));
    const tenant = await startFakeTenant({ cutEvery: 97, heartbeatMs: 200 });
    const bus = await startFakeEventBridge({ buses: ["identity"] });
    const sqs = await startFakeSqs({ queues: ["identity.fifo"] });
    cleanup.add(() => Promise.all([tenant.close(), bus.close(), sqs.close()]));
    const table = `sy_fault_${seed}_${Math.floor(random() * 1e9)}`;
    const dropTables = async () => {
      const names = [table, `${table}_applied`];
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      await client.connect();
      for (const name of names) await client.query(`DROP TABLE IF EXISTS ${name}`);
      await client.end();
      const connection = await mysql.createConnection(MYSQL_URL);
      for (const name of names) await connection.query(`DROP TABLE IF EXISTS ${name}`);
      await connection.end();
    };
    cleanup.add(dropTables);

    const events = lives(180);
    const config = join(dir, "switchyard.yaml");
    const aws = `endpoint: "{endpoint}", region: ${bus.region}, credentials: { accessKeyId: ${bus.credentials.accessKeyId}, secretAccessKey: "\${AWS_SECRET}" }`;
    writeFileSync(
      config,
      `source:
  auth0: { domain: "${tenant.url}", token: "${tenant.token}", fromTimestamp: "2026-01-01T00:00:00Z" }
state: ./state
server: { enabled: false }
actions:
  - { name: postgres, plugin: "@switchyard/plugin-sql", events: ["user.*"], with: { url: "${POSTGRES_URL}", table: ${table} } }
  - { name: mariadb, plugin: "@switchyard/plugin-sql", events: ["user.*"], with: { url: "${MYSQL_URL}", table: ${table} } }
  - name: bus
    plugin: "@switchyard/plugin-eventbridge"
    events: ["user.*"]
    orderBy: user
    with: { eventBusName: identity, ${aws.replace("{endpoint}", bus.endpoint)} }
  - name: queue
    plugin: "@switchyard/plugin-sqs"
    events: ["user.*"]
    orderBy: user
    with: { queueUrl: "${sqs.queueUrl("identity.fifo")}", ${aws.replace("{endpoint}", sqs.endpoint)} }
`,
    );
    const env = { AWS_SECRET: bus.credentials.secretAccessKey };
    const host = (): CliProcess => {
      const cli = startCli(["start", "--config", config], env);
      cleanup.add(() => cli.child.kill("SIGKILL"));
      return cli;
    };

    // Feed the stream in chunks, killing the host in the middle of each: once the queue has some of the
    // chunk, not all of it. Both fakes answer 25 ms late so a chunk takes a while; throttling and 5xx now and then.
    bus.server.failAlways({ delayMs: 25 });
    sqs.server.failAlways({ delayMs: 25 });
    const inQueue = () => sqs.messages("identity.fifo").length;
    let fed = 0;
    const kills = 4;
    const chunk = Math.ceil(events.length / (kills + 1));
    for (let k = 0; k < kills; k++) {
      const running = host();
      const before = inQueue();
      tenant.append(events.slice(fed, fed + chunk));
      fed += chunk;
      sqs.throttleNext(2);
      bus.failNext({ status: 503 });
      await waitFor(() => inQueue() >= before + chunk * (0.2 + random() * 0.5), {
        timeoutMs: 30_000,
        message: "part of the chunk in the queue",
      });
      running.child.kill("SIGKILL");
      await running.exited;
    }
    bus.server.recover();
    sqs.server.recover();
    tenant.append(events.slice(fed));
    const last = host();

    const ids = new Set(events.map((event) => event.id));
    const queueIds = () => sqs.messages("identity.fifo").map((m) => JSON.parse(m.body).id as string);
    const busIds = () => bus.events("identity").map((e) => (e.detail as { id: string }).id);
    // What Auth0 holds at the end: each user's last event, unless it deleted the user.
    const finalEvents = new Map<string, Auth0Event>();
    for (const event of events) finalEvents.set(userOf(event), event);
    const expected = [...finalEvents.entries()]
      .filter(([, event]) => event.type !== "user.deleted")
      .map(([user, event]) => `${user} ${event.id}`)
      .sort();
    const pgRows = async () => {
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      await client.connect();
      try {
        return (await client.query(`SELECT user_id, event_id FROM ${table}`)).rows
          .map((r) => `${r.user_id} ${r.event_id}`)
          .sort();
      } finally {
        await client.end();
      }
    };
    const mariadbRows = async () => {
      const connection = await mysql.createConnection(MYSQL_URL);
      try {
        const [rows] = await connection.query<mysql.RowDataPacket[]>(
          `SELECT user_id, event_id FROM ${table}`,
        );
        return rows.map((r) => `${r.user_id} ${r.event_id}`).sort();
      } finally {
        await connection.end();
      }
    };
    const same = (a: string[], b: string[]) => a.length === b.length && a.every((v, i) => v === b[i]);
    await waitFor(
      async () =>
        new Set(queueIds()).size === ids.size &&
        new Set(busIds()).size === ids.size &&
        same(await pgRows(), expected) &&
        same(await mariadbRows(), expected),
      { timeoutMs: 45_000, intervalMs: 250, message: "every destination in Auth0's final state" },
    );

    // The FIFO queue: every event exactly once (redeliveries deduplicated by event id), in each user's order.
    const queued = queueIds();
    expect(queued.length).toBe(ids.size);
    const order = (list: string[], user: string) => {
      const own = new Set(events.filter((event) => userOf(event) === user).map((event) => event.id));
      return list.filter((id) => own.has(id));
    };
    const busFirst = [...new Set(busIds())];
    for (const user of finalEvents.keys()) {
      const life = events.filter((event) => userOf(event) === user).map((event) => event.id);
      expect(order(queued, user)).toEqual(life);
      expect(order(busFirst, user)).toEqual(life);
    }
    expect(
      sqs
        .messages("identity.fifo")
        .every((m, i, all) => i === 0 || m.sequenceNumber! > all[i - 1]!.sequenceNumber!),
    ).toBe(true);
    expect(await pgRows()).toEqual(expected);
    expect(await mariadbRows()).toEqual(expected);
    expect([...bus.unsigned, ...sqs.unsigned]).toEqual([]);
    console.log(
      `cloud fault suite (seed ${seed}): ${events.length} events of ${finalEvents.size} users, ${kills} SIGKILLs; ` +
        `${busIds().length - ids.size} redelivered to the bus, ${expected.length} rows in each table`,
    );
    last.child.kill("SIGTERM");
    expect((await last.exited).code).toBe(0);
  }, 90_000);
});
