// The delivery history (HistoryStore in ../types.ts): one record per attempt, with a per-minute rollup per
// action and tenant written with it, and the event page. Shared rules (the rollup's buckets, the latency
// histogram, page sizes) come from ../history.ts, as both SQL engines take them.
import { DEFAULT_TENANT } from "../../tenants.js";
import { LATENCY_COLUMNS, MINUTE_MS, minuteBuckets, pageSize } from "../history.js";
import type {
  ActionLatency,
  ActivityBucket,
  AttemptQuery,
  AttemptRecord,
  DeliveryState,
  EventRecord,
  HistoryStore,
  StoredAttempt,
} from "../types.js";
import { type Answers, allRows, compareText, entryOf, type MemoryState, typeMatches } from "./state.js";

/** A rollup bucket's place in the state: one per minute, action and tenant. */
const bucketId = (minute: number, action: string, tenant: string) =>
  `${minute}\u0000${action}\u0000${tenant}`;

/**
 * An attempt as it is kept, and given back: its duration to the ms (as both SQL engines store it); `status`,
 * `error` and `logs` only when it has them (no lines is no `logs`); its tenant always (`default` when the
 * record has none); the event's key is the store's own business (the memory engine searches by event id).
 */
function stored(record: AttemptRecord, id: number): StoredAttempt {
  return {
    id,
    action: record.action,
    tenant: record.tenant ?? DEFAULT_TENANT,
    eventId: record.eventId,
    eventType: record.eventType,
    attempt: record.attempt,
    startedAt: record.startedAt,
    durationMs: Math.round(record.durationMs),
    outcome: record.outcome,
    ...(record.status !== undefined ? { status: record.status } : {}),
    ...(record.error !== undefined ? { error: record.error } : {}),
    replica: record.replica,
    ...(record.logs !== undefined && record.logs.length > 0
      ? { logs: record.logs.map((line) => ({ ...line })) }
      : {}),
  };
}

/** Whether an attempt matches every field the query sets. */
function matches(attempt: StoredAttempt, q: AttemptQuery): boolean {
  if (q.eventId !== undefined && attempt.eventId !== q.eventId) return false;
  if (q.tenant !== undefined && attempt.tenant !== q.tenant) return false;
  if (!typeMatches(q.type, attempt.eventType)) return false;
  if (q.action !== undefined && attempt.action !== q.action) return false;
  // `failed` is `retrying` or `dead`: a stale attempt was not run, a filtered one not sent.
  if (q.outcome === "failed") {
    if (attempt.outcome !== "retrying" && attempt.outcome !== "dead") return false;
  } else if (q.outcome !== undefined && attempt.outcome !== q.outcome) return false;
  if (q.since !== undefined && attempt.startedAt < q.since) return false;
  if (q.until !== undefined && attempt.startedAt >= q.until) return false;
  return q.before === undefined || attempt.id < q.before;
}

export function memoryHistory(state: MemoryState): Answers<HistoryStore> {
  return {
    recordAttempts(records) {
      for (const record of records) state.attempts.push(stored(record, ++state.lastAttemptId));
      // The rollup counts the batch per (minute, action, tenant); counts are added, never replaced.
      for (const batch of minuteBuckets(records)) {
        const id = bucketId(batch.minute, batch.action, batch.tenant);
        const bucket = entryOf(state.minutes, id, () => ({
          action: batch.action,
          tenant: batch.tenant,
          minute: batch.minute,
          delivered: 0,
          retrying: 0,
          dead: 0,
          stale: 0,
          durationMs: 0,
          latency: LATENCY_COLUMNS.map(() => 0),
        }));
        bucket.delivered += batch.delivered;
        bucket.retrying += batch.retrying;
        bucket.dead += batch.dead;
        bucket.stale += batch.stale;
        bucket.durationMs += batch.durationMs;
        for (const [i, n] of batch.latency.entries()) bucket.latency[i]! += n;
      }
    },

    searchAttempts(q) {
      // Newest first: ids increase with the array, so walk it from its end and stop at a page.
      const limit = pageSize(q.limit);
      const found: StoredAttempt[] = [];
      for (let i = state.attempts.length - 1; i >= 0 && found.length < limit; i--) {
        const attempt = state.attempts[i]!;
        if (matches(attempt, q)) found.push(stored(attempt, attempt.id));
      }
      return found;
    },

    activity(since, tenant) {
      // One bucket per minute and action: the tenant's, or every tenant's summed.
      const summed = new Map<string, ActivityBucket>();
      for (const bucket of state.minutes.values()) {
        if (bucket.minute < since || (tenant !== undefined && bucket.tenant !== tenant)) continue;
        const sum = entryOf(summed, `${bucket.minute}\u0000${bucket.action}`, () => ({
          action: bucket.action,
          minute: bucket.minute,
          delivered: 0,
          retrying: 0,
          dead: 0,
          stale: 0,
          durationMs: 0,
        }));
        sum.delivered += bucket.delivered;
        sum.retrying += bucket.retrying;
        sum.dead += bucket.dead;
        sum.stale += bucket.stale;
        sum.durationMs += bucket.durationMs;
      }
      return [...summed.values()].sort((a, b) => a.minute - b.minute || compareText(a.action, b.action));
    },

    latency(since, tenant) {
      // Per action, its buckets' histograms summed (an action whose buckets hold only stale attempts has
      // one of zeros, as in both SQL engines).
      const byAction = new Map<string, number[]>();
      for (const bucket of state.minutes.values()) {
        if (bucket.minute < since || (tenant !== undefined && bucket.tenant !== tenant)) continue;
        const counts = entryOf(byAction, bucket.action, () => LATENCY_COLUMNS.map(() => 0));
        for (const [i, n] of bucket.latency.entries()) counts[i]! += n;
      }
      return [...byAction]
        .sort(([a], [b]) => compareText(a, b))
        .map(([action, counts]): ActionLatency => ({ action, counts }));
    },

    event(eventId, tenant = DEFAULT_TENANT): EventRecord | undefined {
      const key = state.eventKeys.get(tenant)?.get(eventId);
      const event = key === undefined ? undefined : state.events.get(key);
      if (event === undefined) return undefined;
      // Its rows: unfinished and dead deliveries (a delivered one has none), by action.
      const deliveries = [...allRows(state)]
        .filter((row) => row.key === event.key)
        .sort((a, b) => compareText(a.action, b.action))
        .map(
          (row): DeliveryState => ({
            action: row.action,
            state: row.status,
            attempts: row.attempts,
            ...(row.status === "pending" ? { dueAt: row.dueAt } : {}),
            ...(row.lastError !== undefined ? { lastError: row.lastError } : {}),
          }),
        );
      return {
        tenant,
        eventId,
        type: event.type,
        time: event.time,
        receivedAt: event.receivedAt,
        ...(event.payload !== undefined ? { payload: event.payload } : {}),
        deliveries,
      };
    },

    eventTenants(eventId) {
      return [...state.eventKeys]
        .filter(([, ids]) => ids.has(eventId))
        .map(([tenant]) => tenant)
        .sort(compareText);
    },

    pruneHistory(before) {
      const kept = state.attempts.filter((attempt) => attempt.startedAt >= before);
      const pruned = state.attempts.length - kept.length;
      state.attempts = kept;
      // A bucket goes once its whole minute is before `before`. Ids are never reused (`lastAttemptId`).
      const firstKept = Math.floor(before / MINUTE_MS) * MINUTE_MS;
      for (const [id, bucket] of state.minutes) if (bucket.minute < firstKept) state.minutes.delete(id);
      return pruned;
    },
  };
}
