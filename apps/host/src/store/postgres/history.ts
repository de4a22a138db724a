// The delivery history on PostgreSQL (the HistoryStore part of the contract; see types.ts and history.ts).
import { DEFAULT_TENANT } from "../../tenants.js";
import {
  eventsWithIdSql,
  LATENCY_COLUMNS,
  logsColumn,
  logsField,
  MINUTE_MS,
  minuteBuckets,
  NARROW_RANGE,
  OUTCOMES,
  outcomeCondition,
  PRUNE_CHUNK,
  pageSize,
  tenantColumn,
  tenantCondition,
  tenantOf,
  typeRange,
} from "../history.js";
import type { AttemptQuery, DeliveryState, EventRecord, HistoryStore, StoredAttempt } from "../types.js";
import type { PostgresContext } from "./context.js";

const STATES = { 0: "pending", 1: "in flight", 3: "dead" } as const;

/** The range's conditions numbered from $1 again (they are the only parameters of the count). */
const renumber = (conditions: string) => {
  let n = 0;
  return conditions.replace(/\$\d+/g, () => `$${++n}`);
};

/** The history methods over the store's pool: `query` runs one statement, `tx` a transaction. */
export function postgresHistory({ query, tx }: PostgresContext): HistoryStore {
  return {
    async recordAttempts(records) {
      if (records.length === 0) return;
      const buckets = minuteBuckets(records);
      await tx(async (client) => {
        await client.query(
          `INSERT INTO attempts (action, event_id, type, attempt, started_at, duration_ms, outcome, status, error, replica, logs, tenant)
           SELECT a, e, t, n, s, d, o, st, err, r, l, tn
           FROM unnest($1::text[], $2::text[], $3::text[], $4::integer[], $5::bigint[], $6::integer[],
             $7::smallint[], $8::smallint[], $9::text[], $10::text[], $11::text[], $12::text[])
             WITH ORDINALITY AS x(a, e, t, n, s, d, o, st, err, r, l, tn, i)
           ORDER BY i`,
          [
            records.map((r) => r.action),
            records.map((r) => r.eventId),
            records.map((r) => r.eventType),
            records.map((r) => r.attempt),
            records.map((r) => r.startedAt),
            records.map((r) => Math.round(r.durationMs)),
            records.map((r) => OUTCOMES.indexOf(r.outcome)),
            records.map((r) => r.status ?? null),
            records.map((r) => r.error ?? null),
            records.map((r) => r.replica),
            records.map((r) => logsColumn(r.logs)),
            records.map((r) => tenantColumn(r.tenant)),
          ],
        );
        // Replicas add to the same buckets: counts are added, never overwritten. Rows are locked in
        // (minute, action, tenant) order (minuteBuckets sorts them), so two batches never deadlock.
        const n = LATENCY_COLUMNS.length;
        const histogram = LATENCY_COLUMNS.join(", ");
        const arrays = LATENCY_COLUMNS.map((_, i) => `$${9 + i}::integer[]`).join(", ");
        const names = LATENCY_COLUMNS.map((c) => `x${c}`);
        await client.query(
          `INSERT INTO attempt_minutes (minute, action, tenant, delivered, retrying, dead, stale, duration_ms, ${histogram})
           SELECT m, a, tn, d, r, k, st, s, ${names.join(", ")} FROM unnest($1::bigint[], $2::text[], $3::text[],
             $4::integer[], $5::integer[], $6::integer[], $7::integer[], $8::bigint[], ${arrays})
             WITH ORDINALITY AS x(m, a, tn, d, r, k, st, s, ${names.join(", ")}, i)
           ORDER BY i
           ON CONFLICT (minute, action, tenant) DO UPDATE SET delivered = attempt_minutes.delivered + excluded.delivered,
             retrying = attempt_minutes.retrying + excluded.retrying, dead = attempt_minutes.dead + excluded.dead,
             stale = attempt_minutes.stale + excluded.stale,
             duration_ms = attempt_minutes.duration_ms + excluded.duration_ms,
             ${LATENCY_COLUMNS.map((c) => `${c} = attempt_minutes.${c} + excluded.${c}`).join(", ")}`,
          [
            buckets.map((b) => b.minute),
            buckets.map((b) => b.action),
            buckets.map((b) => b.tenant),
            buckets.map((b) => b.delivered),
            buckets.map((b) => b.retrying),
            buckets.map((b) => b.dead),
            buckets.map((b) => b.stale),
            buckets.map((b) => b.durationMs),
            ...Array.from({ length: n }, (_, i) => buckets.map((b) => b.latency[i]!)),
          ],
        );
      });
    },

    async searchAttempts(q: AttemptQuery) {
      const clauses: string[] = [];
      const params: Array<string | number> = [];
      const param = (value: string | number) => {
        params.push(value);
        return `$${params.length}`;
      };
      if (q.action !== undefined) clauses.push(`action = ${param(q.action)}`);
      if (q.eventId !== undefined) clauses.push(`event_id = ${param(q.eventId)}`);
      if (q.tenant !== undefined) clauses.push(tenantCondition(q.tenant, param));
      const type = typeRange(q.type);
      if (type && "exact" in type) clauses.push(`type = ${param(type.exact)}`);
      else if (type) clauses.push(`type >= ${param(type.from)} AND type < ${param(type.to)}`);
      const outcome = outcomeCondition(q.outcome);
      if (outcome) clauses.push(outcome);
      if (q.since !== undefined) clauses.push(`started_at >= ${param(q.since)}`);
      if (q.until !== undefined) clauses.push(`started_at < ${param(q.until)}`);
      if (q.before !== undefined) clauses.push(`id < ${param(q.before)}`);
      const where = clauses.length > 0 ? `WHERE ${clauses.join(" AND ")}` : "";
      const columns =
        "id, action, event_id, type, attempt, started_at, duration_ms, outcome, status, error, replica, logs, tenant";
      let sql = `SELECT ${columns} FROM attempts ${where} ORDER BY id DESC LIMIT ${pageSize(q.limit)}`;
      // A narrow time range (see NARROW_RANGE): its matches first, then sorted. Without this, an hour a few
      // days old took 0.2-0.7 s over a million rows (measured).
      if (q.since !== undefined || q.until !== undefined) {
        const range = clauses.filter((c) => c.startsWith("started_at")).join(" AND ");
        const rangeParams = [q.since, q.until].filter((t) => t !== undefined);
        const { rows } = await query<{ n: number }>(
          `SELECT count(*)::integer AS n FROM (SELECT 1 FROM attempts WHERE ${renumber(range)} LIMIT ${NARROW_RANGE}) r`,
          rangeParams,
        );
        if ((rows[0]?.n ?? 0) < NARROW_RANGE) {
          sql = `WITH matching AS MATERIALIZED (SELECT ${columns} FROM attempts ${where})
                 SELECT * FROM matching ORDER BY id DESC LIMIT ${pageSize(q.limit)}`;
        }
      }
      const { rows } = await query<{
        id: string;
        action: string;
        event_id: string;
        type: string;
        attempt: number;
        started_at: string;
        duration_ms: number;
        outcome: number;
        status: number | null;
        error: string | null;
        replica: string;
        logs: string | null;
        tenant: string | null;
      }>(sql, params);
      return rows.map(
        (row): StoredAttempt => ({
          id: Number(row.id),
          action: row.action,
          tenant: tenantOf(row.tenant),
          eventId: row.event_id,
          eventType: row.type,
          attempt: row.attempt,
          startedAt: Number(row.started_at),
          durationMs: row.duration_ms,
          outcome: OUTCOMES[row.outcome]!,
          ...(row.status !== null ? { status: row.status } : {}),
          ...(row.error !== null ? { error: row.error } : {}),
          replica: row.replica,
          ...logsField(row.logs),
        }),
      );
    },

    async latency(since, tenant) {
      // Without a tenant, every tenant's rows summed; with one, only its rows (the tenant ends the key: the
      // minute range is read either way, and the tenant filters it).
      const { rows } = await query<Record<string, string>>(
        `SELECT action, ${LATENCY_COLUMNS.map((c) => `sum(${c})::bigint AS ${c}`).join(", ")}
         FROM attempt_minutes WHERE minute >= $1${tenant === undefined ? "" : " AND tenant = $2"} GROUP BY action`,
        tenant === undefined ? [since] : [since, tenant],
      );
      return rows.map((row) => ({
        action: row.action!,
        counts: LATENCY_COLUMNS.map((c) => Number(row[c] ?? 0)),
      }));
    },

    async activity(since, tenant) {
      // One bucket per minute and action: the tenant's, or every tenant's summed.
      const { rows } = await query<{
        minute: string;
        action: string;
        delivered: number;
        retrying: number;
        dead: number;
        stale: number;
        duration_ms: string;
      }>(
        `SELECT minute, action, sum(delivered)::integer AS delivered, sum(retrying)::integer AS retrying,
           sum(dead)::integer AS dead, sum(stale)::integer AS stale, sum(duration_ms)::bigint AS duration_ms
         FROM attempt_minutes WHERE minute >= $1${tenant === undefined ? "" : " AND tenant = $2"}
         GROUP BY minute, action ORDER BY minute, action COLLATE "C"`,
        tenant === undefined ? [since] : [since, tenant],
      );
      return rows.map((row) => ({
        action: row.action,
        minute: Number(row.minute),
        delivered: row.delivered,
        retrying: row.retrying,
        dead: row.dead,
        stale: row.stale,
        durationMs: Number(row.duration_ms),
      }));
    },

    async event(eventId, tenant = DEFAULT_TENANT): Promise<EventRecord | undefined> {
      const { rows } = await query<{
        id: string;
        type: string;
        time: string;
        received_at: string;
        payload: string | null;
      }>("SELECT id, type, time, received_at, payload FROM events WHERE tenant = $1 AND event_id = $2", [
        tenant,
        eventId,
      ]);
      const row = rows[0];
      if (!row) return undefined;
      const deliveries = await query<{
        action: string;
        status: 0 | 1 | 3;
        attempts: number;
        due_at: string;
        last_error: string | null;
      }>(
        `SELECT action, status, attempts, due_at, last_error FROM deliveries WHERE event = $1
         ORDER BY action COLLATE "C"`,
        [row.id],
      );
      return {
        tenant,
        eventId,
        type: row.type,
        time: row.time,
        receivedAt: Number(row.received_at),
        ...(row.payload !== null ? { payload: row.payload } : {}),
        deliveries: deliveries.rows.map(
          (d): DeliveryState => ({
            action: d.action,
            state: STATES[d.status],
            attempts: d.attempts,
            ...(d.status === 0 ? { dueAt: Number(d.due_at) } : {}),
            ...(d.last_error !== null ? { lastError: d.last_error } : {}),
          }),
        ),
      };
    },

    async eventTenants(eventId) {
      const { rows } = await query<{ tenant: string }>(eventsWithIdSql("$1"), [eventId]);
      return rows.map((row) => row.tenant).sort();
    },

    async pruneHistory(before) {
      // One bounded statement at a time, each committed on its own: no transaction holds a retention's worth
      // of row locks and WAL, and replicas recording meanwhile wait at most one chunk.
      let pruned = 0;
      for (;;) {
        const { rowCount } = await query(
          `DELETE FROM attempts WHERE id IN (SELECT id FROM attempts WHERE started_at < $1 LIMIT ${PRUNE_CHUNK})`,
          [before],
        );
        pruned += rowCount ?? 0;
        if ((rowCount ?? 0) < PRUNE_CHUNK) break;
      }
      // A bucket goes once its whole minute is before `before`.
      await query("DELETE FROM attempt_minutes WHERE minute < $1", [
        Math.floor(before / MINUTE_MS) * MINUTE_MS,
      ]);
      return pruned;
    },
  };
}
