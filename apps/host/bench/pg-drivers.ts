// Compare node-postgres (`pg`) and porsager's `postgres` on the store's two hot paths, against a local server:
// ingest of 100-event batches (one transaction each) and claim+complete cycles. Prints CPU and wall time.
// Run: SWITCHYARD_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test node --import tsx bench/pg-drivers.ts
import { randomUUID } from "node:crypto";
import pg from "pg";
import postgres from "postgres";

const url = process.env.SWITCHYARD_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const BATCHES = Number(process.env.BATCHES ?? 100);
const CYCLES = Number(process.env.CYCLES ?? 1000);
const payload = JSON.stringify({
  data: { object: { email: "x@example.com", user_id: "auth0|1", name: "n".repeat(300) } },
});

const DDL = (s: string) => `DROP SCHEMA IF EXISTS ${s} CASCADE; CREATE SCHEMA ${s};
CREATE TABLE ${s}.events (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, event_id text UNIQUE NOT NULL, payload text);
CREATE TABLE ${s}.deliveries (action int, event bigint, status smallint, due_at bigint, PRIMARY KEY (action, event));
CREATE INDEX ON ${s}.deliveries (action, due_at) WHERE status = 0;`;
const INSERT = (
  s: string,
) => `WITH e AS (INSERT INTO ${s}.events (event_id, payload) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING RETURNING id)
  INSERT INTO ${s}.deliveries SELECT 1, id, 0, 0 FROM e`;
const CLAIM = (
  s: string,
) => `UPDATE ${s}.deliveries d SET status = 1 FROM (SELECT action, event FROM ${s}.deliveries WHERE action = 1 AND status = 0 AND due_at <= $1 ORDER BY due_at, event LIMIT 1 FOR UPDATE SKIP LOCKED) c
  WHERE d.action = c.action AND d.event = c.event RETURNING d.event`;
const DONE = (s: string) => `DELETE FROM ${s}.deliveries WHERE action = 1 AND event = ANY($1::bigint[])`;

function batch() {
  const ids: string[] = [];
  for (let i = 0; i < 100; i++) ids.push(randomUUID());
  return [ids, ids.map(() => payload)];
}

async function measure(name: string, run: () => Promise<void>) {
  const cpu = process.cpuUsage();
  const t = performance.now();
  await run();
  const wall = performance.now() - t;
  const used = process.cpuUsage(cpu);
  return { name, wallMs: Math.round(wall), cpuMs: Math.round((used.user + used.system) / 1000) };
}

async function withPg() {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  const s = "bench_pg";
  await pool.query(DDL(s));
  const ingest = await measure("pg ingest", async () => {
    for (let b = 0; b < BATCHES; b++) {
      const c = await pool.connect();
      try {
        await c.query("BEGIN");
        await c.query(INSERT(s), batch());
        await c.query(`UPDATE ${s}.events SET payload = payload WHERE false`);
        await c.query("COMMIT");
      } finally {
        c.release();
      }
    }
  });
  const cycle = await measure("pg claim+complete", async () => {
    for (let i = 0; i < CYCLES; i++) {
      const r = await pool.query<{ event: string }>(CLAIM(s), [Date.now()]);
      await pool.query(DONE(s), [r.rows.map((x) => x.event)]);
    }
  });
  await pool.query(`DROP SCHEMA ${s} CASCADE`);
  await pool.end();
  return [ingest, cycle];
}

async function withPostgres() {
  const sql = postgres(url, { max: 2, onnotice: () => {} });
  const s = "bench_postgresjs";
  await sql.unsafe(DDL(s));
  const ingest = await measure("postgres ingest", async () => {
    for (let b = 0; b < BATCHES; b++) {
      await sql.begin(async (tx) => {
        await tx.unsafe(INSERT(s), batch());
        await tx.unsafe(`UPDATE ${s}.events SET payload = payload WHERE false`);
      });
    }
  });
  const cycle = await measure("postgres claim+complete", async () => {
    for (let i = 0; i < CYCLES; i++) {
      const r = await sql.unsafe<{ event: string }[]>(CLAIM(s), [Date.now()]);
      await sql.unsafe(DONE(s), [r.map((x) => x.event)]);
    }
  });
  await sql.unsafe(`DROP SCHEMA ${s} CASCADE`);
  await sql.end();
  return [ingest, cycle];
}

const which = process.argv[2];
const results = which === "postgres" ? await withPostgres() : await withPg();
for (const r of results) console.log(`${r.name}: ${r.wallMs} ms wall, ${r.cpuMs} ms CPU`);
