// Delivery history (issue 15): how fast each engine records attempts, and how fast the console's searches
// answer over 1,000,000 of them. Fills the store through `recordAttempts` in batches of 500 (the host's
// batch), then times a query mix, 200 queries of each kind with varied values, and prints p50 / p99 per kind
// against the target (p99 < 100 ms). SQLite runs on its thread, as in the host; Postgres in a throwaway
// schema, dropped at the end (skipped, saying so, when the server is unreachable).
// `node --conditions=@switchyard/source --import tsx bench/history.bench.ts` (BENCH_QUICK=1: 100,000 rows;
// BENCH_ONLY=sqlite|postgres one engine).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EVENT_TYPES } from "@switchyard/core";
import { reportBench } from "../../../scripts/bench-report.ts";
import { openPostgresStore } from "../src/store/postgres/store.ts";
import { openStoreThread } from "../src/store/sqlite/client.ts";
import type { AttemptOutcome, AttemptQuery, AttemptRecord, StateStore } from "../src/store/types.ts";
import { createTestSchema, postgresAvailable } from "../test/postgres.ts";

const quick = process.env.BENCH_QUICK === "1";
const only = process.env.BENCH_ONLY;
const ROWS = quick ? 100_000 : 1_000_000;
const BATCH = 500;
const QUERIES = 200;
const TARGET_MS = 100;
const DAYS = 7;
const ACTIONS = ["crm", "analytics", "slack", "warehouse"];
const REPLICAS = ["host-a", "host-b"];
/** The rare exact type the "rare type" query looks for (about 0.1% of attempts). */
const RARE = "connection.deleted";

/** Attempts per 1,000 of each type: a tenant's stream is mostly user updates and logins' side effects. */
const WEIGHTS: Record<(typeof EVENT_TYPES)[number], number> = {
  "user.updated": 380,
  "user.created": 250,
  "user.deleted": 60,
  "organization.member.added": 70,
  "organization.member.deleted": 25,
  "organization.member.role.assigned": 40,
  "organization.member.role.deleted": 15,
  "organization.created": 10,
  "organization.updated": 20,
  "organization.deleted": 3,
  "organization.connection.added": 4,
  "organization.connection.updated": 3,
  "organization.connection.removed": 2,
  "organization.group.role.assigned": 5,
  "organization.group.role.deleted": 2,
  "group.created": 8,
  "group.updated": 12,
  "group.deleted": 3,
  "group.member.added": 45,
  "group.member.deleted": 20,
  "group.role.assigned": 10,
  "group.role.deleted": 4,
  "connection.created": 2,
  "connection.updated": 6,
  "connection.deleted": 1,
};

/** A seeded PRNG (mulberry32): the same rows and queries for both engines. */
function random(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const pick = <T>(rnd: () => number, items: readonly T[]) => items[Math.floor(rnd() * items.length)]!;
const weighted = (() => {
  const total = Object.values(WEIGHTS).reduce((a, b) => a + b, 0);
  const types = EVENT_TYPES.map((type) => ({ type, p: WEIGHTS[type] / total }));
  return (r: number) => {
    for (const { type, p } of types) {
      if (r < p) return type;
      r -= p;
    }
    return types.at(-1)!.type;
  };
})();

// Events: a few thousand distinct ids, each with its type drawn by weight, repeating across actions and
// attempts. The rare type gets a few ids of its own, so that its share stays near its weight.
const rnd = random(15);
const EVENTS = Array.from({ length: 5_000 }, (_, i) => ({
  id: `evt_${i.toString(36).padStart(6, "0")}${Math.floor(rnd() * 1e9).toString(36)}`,
  type: i < 5 ? RARE : weighted(rnd()),
}));
const eventsByWeight = (() => {
  // Row i takes an event drawn by its type's weight: group the events by type, draw the type, then an event.
  const byType = new Map<string, typeof EVENTS>();
  for (const event of EVENTS) byType.set(event.type, [...(byType.get(event.type) ?? []), event]);
  return (r1: number, r2: number) => {
    const events = byType.get(weighted(r1)) ?? EVENTS;
    return events[Math.floor(r2 * events.length)]!;
  };
})();

const START = Date.UTC(2026, 10, 20);
const SPAN = DAYS * 86_400_000;

/** Row `i` of the fill: times grow with i (history is written as it happens), ±2 s of jitter. */
function row(i: number, r: () => number): AttemptRecord {
  const event = eventsByWeight(r(), r());
  const roll = r();
  const outcome: AttemptOutcome = roll < 0.01 ? "dead" : roll < 0.06 ? "retrying" : "delivered";
  const failed = outcome !== "delivered";
  const status = failed ? pick(r, [500, 502, 503, 429, 400, 404]) : undefined;
  return {
    action: pick(r, ACTIONS),
    eventId: event.id,
    eventKey: eventKeys.get(event.id),
    eventType: event.type,
    attempt: failed ? 1 + Math.floor(r() * 5) : r() < 0.05 ? 2 : 1,
    startedAt: START + Math.floor((i / ROWS) * SPAN + (r() - 0.5) * 4_000),
    durationMs: Math.round(20 + r() * r() * 800),
    outcome,
    ...(status !== undefined ? { status, error: `HTTP ${status} from https://api.example.com/hooks` } : {}),
    replica: pick(r, REPLICAS),
  };
}

/** The store's key of each event: the host records attempts with it (AttemptRecord.eventKey). */
const eventKeys = new Map<string, number>();

async function fill(store: StateStore): Promise<number> {
  // The events first, as the host ingests them before any attempt.
  const { keys } = await store.ingest(
    EVENTS.map((event) => ({
      event: { ...event, time: new Date(START).toISOString() },
      payload: JSON.stringify(event),
      deliveries: [],
    })),
    undefined,
  );
  eventKeys.clear();
  for (const [i, event] of EVENTS.entries()) eventKeys.set(event.id, keys[i]!);
  const r = random(2026);
  const started = performance.now();
  for (let i = 0; i < ROWS; i += BATCH) {
    const batch: AttemptRecord[] = [];
    for (let j = i; j < Math.min(ROWS, i + BATCH); j++) batch.push(row(j, r));
    await store.recordAttempts(batch);
  }
  return ROWS / ((performance.now() - started) / 1000);
}

type Kind = { name: string; queries: (r: () => number) => Array<AttemptQuery | "page"> };
const FAILED = ["failed", "dead", "retrying"] as const;
const COMBINED_TYPES = ["user.*", "organization.*", "user.deleted", "organization.member.deleted", "group.*"];
const KINDS: Kind[] = [
  { name: "event id", queries: (r) => [{ eventId: pick(r, EVENTS).id, limit: 50 }] },
  { name: "type user.*", queries: (r) => [{ type: "user.*", limit: pick(r, [20, 50, 100]) }] },
  { name: `type ${RARE} (rare)`, queries: (r) => [{ type: RARE, limit: pick(r, [20, 50, 100]) }] },
  { name: "action", queries: (r) => [{ action: pick(r, ACTIONS), limit: 50 }] },
  { name: "outcome failed", queries: (r) => [{ outcome: "failed", limit: pick(r, [20, 50, 100]) }] },
  {
    name: "1-hour time range",
    queries: (r) => {
      const since = START + Math.floor(r() * (SPAN - 3_600_000));
      return [{ since, until: since + 3_600_000, limit: 50 }];
    },
  },
  {
    name: "action + outcome + type",
    queries: (r) => [
      { action: pick(r, ACTIONS), outcome: pick(r, FAILED), type: pick(r, COMBINED_TYPES), limit: 50 },
    ],
  },
];

/** p-th percentile (0-100) of sorted values. */
const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

async function queryMix(store: StateStore) {
  const results: Array<{ kind: string; p50: number; p99: number; rows: number }> = [];
  const time = async (query: AttemptQuery) => {
    const t = performance.now();
    const found = await store.searchAttempts(query);
    return { ms: performance.now() - t, found };
  };
  for (const kind of KINDS) {
    const r = random(kind.name.length * 7919);
    const times: number[] = [];
    let rows = 0;
    for (let n = 0; n < QUERIES; n++) {
      const query = kind.queries(r)[0] as AttemptQuery;
      const { ms, found } = await time(query);
      times.push(ms);
      rows += found.length;
    }
    times.sort((a, b) => a - b);
    results.push({
      kind: kind.name,
      p50: percentile(times, 50),
      p99: percentile(times, 99),
      rows: rows / QUERIES,
    });
  }
  // Pages 2-5 through the cursor, each walk with one of the filters a console opens with.
  const r = random(5);
  const times: number[] = [];
  let rows = 0;
  for (let walk = 0; walk < QUERIES / 4; walk++) {
    const filter: Omit<AttemptQuery, "limit"> = pick(r, [
      {},
      { action: pick(r, ACTIONS) },
      { outcome: "failed" as const },
      { type: "user.*" },
      { action: pick(r, ACTIONS), outcome: "failed" as const },
    ]);
    let page = await store.searchAttempts({ ...filter, limit: 50 });
    for (let n = 2; n <= 5; n++) {
      const { ms, found } = await time({ ...filter, limit: 50, before: page.at(-1)?.id });
      times.push(ms);
      rows += found.length;
      page = found;
    }
  }
  times.sort((a, b) => a - b);
  results.push({
    kind: "pages 2-5 (cursor)",
    p50: percentile(times, 50),
    p99: percentile(times, 99),
    rows: rows / times.length,
  });
  return results;
}

async function run(engine: string, store: StateStore, analyse: () => Promise<void>) {
  const rate = await fill(store);
  console.log(
    `${engine}: filled ${ROWS.toLocaleString("en")} attempts at ${Math.round(rate).toLocaleString("en")} records/s`,
  );
  await analyse();
  // Warm-up: the first queries read the indexes' pages from disk.
  for (const kind of KINDS)
    for (let n = 0; n < 5; n++) await store.searchAttempts(kind.queries(random(n))[0] as AttemptQuery);
  const results = await queryMix(store);
  for (const r of results) {
    console.log(
      `  ${r.kind.padEnd(38)} p50 ${r.p50.toFixed(1).padStart(6)} ms  p99 ${r.p99.toFixed(1).padStart(6)} ms  (${r.rows.toFixed(0)} rows)  ${r.p99 < TARGET_MS ? "p99 < 100 ms" : "p99 OVER 100 ms"}`,
    );
  }
  // Pruning the oldest 12 hours (about 7% of the rows) in chunks, as `history.retention` would.
  const t = performance.now();
  const pruned = await store.pruneHistory(START + 12 * 3_600_000);
  const pruneMs = performance.now() - t;
  console.log(`  pruneHistory: ${pruned.toLocaleString("en")} attempts in ${Math.round(pruneMs)} ms`);
  const worst = results.reduce((a, b) => (b.p99 > a.p99 ? b : a));
  reportBench({ name: `history: record attempts, ${engine} (records/s)`, unit: "records/s", value: rate });
  reportBench({
    name: `history: search p99 over ${ROWS / 1_000_000}M attempts, worst kind (${worst.kind}), ${engine}`,
    unit: "ms",
    value: worst.p99,
    target: `< ${TARGET_MS} ms`,
    pass: worst.p99 < TARGET_MS,
  });
}

if (!only || only === "sqlite") {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-history-"));
  const store = await openStoreThread(join(dir, "switchyard.db"), {});
  try {
    // SQLite's statistics come from `pruneHistory` (PRAGMA optimize), as the host's periodic prune runs it.
    await run("SQLite", store, async () => {
      await store.pruneHistory(0);
    });
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (!only || only === "postgres") {
  if (!(await postgresAvailable())) {
    console.log("history benchmark on Postgres skipped: no PostgreSQL server");
  } else {
    const schema = await createTestSchema();
    const store = await openPostgresStore(schema.url);
    try {
      // Autovacuum analyses a table this size within a minute of the fill; done at once here.
      await run("Postgres", store, async () => {
        await schema.sql("ANALYZE attempts");
      });
    } finally {
      await store.close();
      await schema.drop();
    }
  }
}
