// What both engines share of the delivery history: how outcomes are stored, the per-minute rollup of a batch,
// and the type filter as an index range.
import { DEFAULT_TENANT } from "../tenants.js";
import type { ActivityBucket, AttemptLogLine, AttemptOutcome, AttemptQuery, AttemptRecord } from "./types.js";

/**
 * Upper bounds (ms) of the per-minute histogram of attempt durations that the rollup keeps per action (schema
 * version 4), for the overview's p50 and p99; one more bucket holds the longer attempts. Never change them:
 * stored counts would change meaning (add a new set of columns instead).
 */
export const LATENCY_BOUNDS: readonly number[] = [5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000];

/** The histogram's columns in attempt_minutes: l0 … l11. */
export const LATENCY_COLUMNS: readonly string[] = Array.from(
  { length: LATENCY_BOUNDS.length + 1 },
  (_, i) => `l${i}`,
);

/** The histogram bucket of a duration. */
export function latencyBucket(durationMs: number): number {
  const index = LATENCY_BOUNDS.findIndex((bound) => durationMs <= bound);
  return index === -1 ? LATENCY_BOUNDS.length : index;
}

/**
 * The duration below which a fraction `q` of the histogram's attempts took, interpolated linearly within its
 * bucket (as Prometheus's histogram_quantile does); the last bucket answers its lower bound. Undefined when
 * the histogram is empty.
 */
export function latencyQuantile(counts: readonly number[], q: number): number | undefined {
  const total = counts.reduce((sum, n) => sum + n, 0);
  if (total === 0) return undefined;
  const rank = q * total;
  let seen = 0;
  for (const [i, n] of counts.entries()) {
    if (n > 0 && seen + n >= rank) {
      const lower = i === 0 ? 0 : LATENCY_BOUNDS[i - 1]!;
      const upper = LATENCY_BOUNDS[i];
      if (upper === undefined) return lower;
      return lower + ((upper - lower) * (rank - seen)) / n;
    }
    seen += n;
  }
  return LATENCY_BOUNDS.at(-1);
}

/**
 * A rollup bucket as a batch adds it: one tenant's (`default` for attempts recorded without one), with its
 * histogram of the attempts that ran (stale ones did not).
 *
 * Both SQL engines store the tenant by name, `default` too, NOT NULL (`tenant … NOT NULL DEFAULT 'default'`).
 * Unlike the attempts' column (NULL for `default`, which saves a write per attempt), a rollup row is one per
 * minute, action and tenant, so naming the tenant costs nothing; and the tenant is part of the row's key,
 * where SQL never finds two NULLs equal: `ON CONFLICT` would insert a second row for the minute, never add to
 * it. Rows written before the rollup had tenants take the column's default, as the events' did.
 */
export interface MinuteBucket extends ActivityBucket {
  tenant: string;
  latency: number[];
}

/** Outcomes are stored as small integers, in this order; `failed` is 1 and 2 (`stale`, `filtered` came later). */
export const OUTCOMES: readonly AttemptOutcome[] = ["delivered", "retrying", "dead", "stale", "filtered"];

/** The SQL condition on the stored `outcome` column for a query's outcome, if any. */
export function outcomeCondition(outcome: AttemptQuery["outcome"]): string | undefined {
  if (outcome === undefined) return undefined;
  // Written with `outcome > 0` so that SQLite's partial index of non-delivered attempts still serves it.
  if (outcome === "failed") return "outcome > 0 AND outcome < 3";
  return `outcome = ${OUTCOMES.indexOf(outcome)}`;
}

export const MINUTE_MS = 60_000;

/**
 * A time range with fewer attempts than this is searched through the started_at index, its matches sorted by
 * id. Both planners take a range's matches to be spread evenly over the ids (they are not: times grow with
 * ids), so for a narrow range days old they would walk the ids down from the newest until enough match: most
 * of the table.
 */
export const NARROW_RANGE = 20_000;

/** How many rows one pruning statement deletes at most: each is a short transaction of its own. */
export const PRUNE_CHUNK = 10_000;

/** A page size within the contract's 1-500. */
export const pageSize = (limit: number) => Math.min(500, Math.max(1, Math.floor(limit)));

/**
 * A batch's attempts summed per (minute, action, tenant), ordered so: each bucket is then written once per
 * batch, and concurrent writers (Postgres replicas) lock buckets in the same order, so they never deadlock.
 * Runs for every delivery, so it builds no key string for the common record: buckets are found by minute,
 * then by the action's name (which keeps its hash), with the tenant appended only when it is not `default`.
 */
export function minuteBuckets(records: readonly AttemptRecord[]): MinuteBucket[] {
  const minutes = new Map<number, Map<string, MinuteBucket>>();
  const buckets: MinuteBucket[] = [];
  for (const record of records) {
    // The rollup counts attempts at the destination and stale skips; an event its transform filtered reached
    // none (the attempts themselves keep it, outcome `filtered`).
    if (record.outcome === "filtered") continue;
    const minute = Math.floor(record.startedAt / MINUTE_MS) * MINUTE_MS;
    let ofMinute = minutes.get(minute);
    if (!ofMinute) {
      ofMinute = new Map();
      minutes.set(minute, ofMinute);
    }
    // No tenant and `default` are one bucket: two rows of one key in one statement fail on Postgres.
    const tenant = record.tenant ?? DEFAULT_TENANT;
    const key = tenant === DEFAULT_TENANT ? record.action : `${record.action}\u0000${tenant}`;
    let bucket = ofMinute.get(key);
    if (!bucket) {
      bucket = {
        action: record.action,
        tenant,
        minute,
        delivered: 0,
        retrying: 0,
        dead: 0,
        stale: 0,
        durationMs: 0,
        latency: LATENCY_COLUMNS.map(() => 0),
      };
      ofMinute.set(key, bucket);
      buckets.push(bucket);
    }
    bucket[record.outcome]++;
    bucket.durationMs += Math.round(record.durationMs);
    if (record.outcome !== "stale") bucket.latency[latencyBucket(record.durationMs)]!++;
  }
  return buckets.sort(
    (a, b) =>
      a.minute - b.minute || compareCodeUnits(a.action, b.action) || compareCodeUnits(a.tenant, b.tenant),
  );
}

const compareCodeUnits = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * An event type pattern (`user.created`, `user.*`, `*`) as an exact type or a range of types. A prefix is a
 * range (`user.` <= type < `user/`), not a LIKE: SQLite's LIKE ignores case and so never uses an index, and
 * a range uses the (type, id) index in both engines (Postgres: the column's collation is "C", byte order).
 */
export function typeRange(
  pattern: string | undefined,
): { exact: string } | { from: string; to: string } | undefined {
  if (pattern === undefined || pattern === "*") return undefined;
  if (!pattern.endsWith(".*")) return { exact: pattern };
  const from = pattern.slice(0, -1);
  // "." + 1 is "/": every string that starts with `from` sorts below `to`.
  return { from, to: `${from.slice(0, -1)}/` };
}

/** The stored form of an attempt's log lines: a JSON array, or null when it printed nothing. */
export function logsColumn(logs: AttemptRecord["logs"]): string | null {
  return logs !== undefined && logs.length > 0 ? JSON.stringify(logs) : null;
}

/** An attempt's log lines read back from their column (a row without lines gets no `logs` field). */
export function logsField(column: string | null): { logs?: AttemptLogLine[] } {
  return column === null ? {} : { logs: JSON.parse(column) as AttemptLogLine[] };
}

/**
 * An attempt's stored tenant: NULL for `default`, so that a single-tenant host writes nothing more per
 * attempt (and attempts recorded before the column existed read as `default`, which they were).
 */
export function tenantColumn(tenant: string | undefined): string | null {
  return tenant === undefined || tenant === DEFAULT_TENANT ? null : tenant;
}

/** An attempt's tenant read back from its column. */
export function tenantOf(column: string | null): string {
  return column ?? DEFAULT_TENANT;
}

/**
 * The SQL condition on the attempts' `tenant` column for one tenant; `bind` adds a parameter and returns its
 * placeholder. No index has the column (each would cost every attempt's write): it narrows what the other
 * conditions found.
 */
export function tenantCondition(tenant: string, bind: (value: string) => string): string {
  return tenant === DEFAULT_TENANT ? "tenant IS NULL" : `tenant = ${bind(tenant)}`;
}

/**
 * The stored events with the id `$id` (a placeholder) in every tenant: each tenant's key and name. Events are
 * unique by (tenant, event id), and neither engine's planner skips through that index's leading column on its
 * own (SQLite without statistics, Postgres before 18): a plain `WHERE event_id = ?` reads every event. So the
 * tenants are walked one index seek each (the next tenant above the last), and each is searched for the id.
 */
export function eventsWithIdSql(id: string): string {
  return `WITH RECURSIVE tenants(name) AS (
      SELECT min(tenant) FROM events
      UNION ALL
      SELECT (SELECT min(tenant) FROM events WHERE tenant > tenants.name) FROM tenants WHERE tenants.name IS NOT NULL)
    SELECT e.id, e.tenant FROM tenants JOIN events e ON e.tenant = tenants.name AND e.event_id = ${id}`;
}
