// The SQL plugin's upsert on PostgreSQL, statement shapes side by side (issue 27): how much of the server's CPU
// per upsert each costs, with nothing else running (no host, no plugin): 20,000 user events, 100 rows per
// statement, 4 connections. Not part of `pnpm bench`; run alone, with the server local (its CPU is read from
// /proc): `node --conditions=@switchyard/source --import tsx bench/sql-statements.ts` (ROUNDS=3 by default).
// - two tables, unprepared: the guard in `<table>_applied`, then the table, in one statement, parsed and planned
//   for each batch (the plugin before 48047be);
// - two tables: the same statement prepared once per connection (the plugin now); the others are prepared too;
// - one table: the guard in the table's own event_time/event_id (the bench's baseline: no delete remembered);
// - one table + tombstone check: also skips a key whose remembered delete is newer. Not safe alone: a delete
//   committed after the statement's snapshot is missed (its own DELETE misses this statement's new row);
// - one table + tombstone check under per-key advisory locks: safe, at the cost of a transaction (BEGIN, the
//   locks, the upsert, COMMIT: four round trips), which is what the single-table layout would need.
import type { Auth0Event } from "@switchyard/core";
import { createEventFactory } from "@switchyard/testing";
import pg from "pg";
import { POSTGRES_URL } from "../test/postgres.ts";
import { postgresCpu } from "./harness.ts";

const ROUNDS = Number(process.env.ROUNDS ?? 3);
const table = `bench_sql_statements_${process.pid}`;
const columns = `"user_id", "profile", "event_time", "event_id"`;
const updates = `"profile" = EXCLUDED."profile", "event_time" = EXCLUDED."event_time", "event_id" = EXCLUDED."event_id", "deleted_at" = NULL`;
const newer = `WHERE (t."event_time", t."event_id" COLLATE "C") < (EXCLUDED."event_time", EXCLUDED."event_id" COLLATE "C")`;
const noNewerDelete = `WHERE NOT EXISTS (SELECT 1 FROM ${table}_applied a WHERE a."user_id" = v."user_id" AND a."deleted" AND a."version" > v."version")`;

/** user_id, profile, time, id, version: one row of a statement. */
type Row = [string, string, string, string, string];

function values(rows: Row[]): string {
  return rows
    .map((_, r) => {
      const n = r * 5;
      return `($${n + 1}::text, $${n + 2}::jsonb, $${n + 3}::timestamptz, $${n + 4}::text, $${n + 5}::text)`;
    })
    .join(", ");
}

const twoTables = (rows: Row[]) => `WITH v (${columns}, "version") AS (VALUES ${values(rows)}),
  won AS (INSERT INTO ${table}_applied AS a ("user_id", "version", "deleted") SELECT "user_id", "version", false FROM v
    ON CONFLICT ("user_id") DO UPDATE SET "version" = EXCLUDED."version", "deleted" = EXCLUDED."deleted"
    WHERE a."version" < EXCLUDED."version" RETURNING "user_id")
  INSERT INTO ${table} (${columns}, "deleted_at") SELECT v."user_id", v."profile", v."event_time", v."event_id", NULL
  FROM v JOIN won USING ("user_id") ON CONFLICT ("user_id") DO UPDATE SET ${updates}`;
const oneTable = (rows: Row[], check: string) => `WITH v (${columns}, "version") AS (VALUES ${values(rows)})
  INSERT INTO ${table} AS t (${columns}, "deleted_at") SELECT v."user_id", v."profile", v."event_time", v."event_id", NULL
  FROM v ${check} ON CONFLICT ("user_id") DO UPDATE SET ${updates} ${newer}`;

/** The statement, prepared once per connection and size under `name` (as the plugin does now). */
const prepared = (name: string, text: string, rows: Row[]) => ({
  name: `${name}_${rows.length}`,
  text,
  values: rows.flat(),
});
const shapes: Record<string, (client: pg.PoolClient, rows: Row[]) => Promise<unknown>> = {
  "two tables, unprepared": (client, rows) => client.query(twoTables(rows), rows.flat()),
  "two tables": (client, rows) => client.query(prepared("two", twoTables(rows), rows)),
  "one table": (client, rows) => client.query(prepared("one", oneTable(rows, ""), rows)),
  "one table + tombstone check": (client, rows) =>
    client.query(prepared("check", oneTable(rows, noNewerDelete), rows)),
  "one table + tombstone check, locked": async (client, rows) => {
    await client.query("BEGIN");
    await client.query({
      name: "locks",
      text: "SELECT pg_advisory_xact_lock(k) FROM (SELECT DISTINCT hashtextextended($1 || u, 0) AS k FROM unnest($2::text[]) u ORDER BY 1) s",
      values: [table, rows.map((row) => row[0])],
    });
    await client.query(prepared("check", oneTable(rows, noNewerDelete), rows));
    await client.query("COMMIT");
  },
};

function userEvents(users: number, updates: number): Auth0Event[] {
  const factory = createEventFactory({ seed: 27 });
  const ids = Array.from({ length: users }, () => factory.byType["user.created"]().data.object.user_id);
  const events: Auth0Event[] = ids.map((user_id) => factory.byType["user.created"]({ user_id }));
  for (let round = 0; round < updates; round++) {
    for (const user_id of ids) events.push(factory.byType["user.updated"]({ user_id, name: `v${round}` }));
  }
  return events;
}

// Batches as the plugin sends them: one change per user, sorted by key.
const events = userEvents(2_000, 9);
const batches: Row[][] = [];
for (let i = 0; i < events.length; i += 100) {
  const rows = events.slice(i, i + 100).map((event): Row => {
    const object = event.data.object as { user_id: string };
    return [object.user_id, JSON.stringify(object), event.time, event.id, `${event.time} ${event.id}`];
  });
  batches.push(rows.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)));
}

const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 4 });
async function run(shape: string): Promise<{ rate: number; cpu: number }> {
  await pool.query(`DROP TABLE IF EXISTS ${table}; DROP TABLE IF EXISTS ${table}_applied;
    CREATE TABLE ${table} ("user_id" text NOT NULL, "profile" jsonb NOT NULL, "event_time" timestamptz NOT NULL,
      "event_id" text NOT NULL, "deleted_at" timestamptz NULL, PRIMARY KEY ("user_id"));
    CREATE TABLE ${table}_applied ("user_id" text NOT NULL, "version" text COLLATE "C" NOT NULL,
      "deleted" boolean NOT NULL, PRIMARY KEY ("user_id"))`);
  const send = shapes[shape]!;
  let next = 0;
  const started = performance.now();
  const cpu0 = postgresCpu();
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      const client = await pool.connect();
      try {
        while (next < batches.length) await send(client, batches[next++]!);
      } finally {
        client.release();
      }
    }),
  );
  const cpu = postgresCpu() - cpu0;
  return { rate: events.length / ((performance.now() - started) / 1000), cpu: (cpu * 1e6) / events.length };
}

const results = new Map<string, Array<{ rate: number; cpu: number }>>();
for (let round = 0; round < ROUNDS; round++) {
  for (const shape of Object.keys(shapes)) {
    const list = results.get(shape) ?? [];
    list.push(await run(shape));
    results.set(shape, list);
  }
}
await pool.query(`DROP TABLE IF EXISTS ${table}; DROP TABLE IF EXISTS ${table}_applied`);
await pool.end();
for (const [shape, list] of results) {
  console.log(
    `${shape.padEnd(38)} PostgreSQL CPU per upsert ${list.map((r) => r.cpu.toFixed(1)).join(" / ")} µs; upserts/s ${list.map((r) => Math.round(r.rate)).join(" / ")}`,
  );
}
