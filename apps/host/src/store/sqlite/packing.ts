import { DEFAULT_TENANT } from "../../tenants.js";
import { logsColumn, logsField, OUTCOMES } from "../history.js";
import type { AttemptRecord, Completion, IngestEvent, Watermark } from "../types.js";

// What crosses to the store thread is copied (structured clone), at a cost that grows with the number of
// objects: the hot requests travel as a few flat arrays of strings and numbers, not an object per row.

/** Ingest rows as columns; only what the store keeps crosses the thread, not the parsed event. */
export interface PackedIngest {
  ids: string[];
  types: string[];
  times: string[];
  payloads: string[];
  /** Per event its trace context (`IngestEvent.trace`); absent when no event has one (traces off). */
  traces?: Array<string | null>;
  /** Per event: the number of its deliveries, then for each its action, order key and held (0/1). */
  deliveries: Array<string | number | null>;
}

export function packIngest(rows: readonly IngestEvent[]): PackedIngest {
  const packed: PackedIngest = { ids: [], types: [], times: [], payloads: [], deliveries: [] };
  for (const row of rows) {
    packed.ids.push(row.event.id);
    packed.types.push(row.event.type);
    packed.times.push(row.event.time);
    packed.payloads.push(row.payload);
    if (row.trace !== undefined) {
      packed.traces ??= new Array<string | null>(packed.ids.length - 1).fill(null);
      packed.traces.push(row.trace);
    } else packed.traces?.push(null);
    packed.deliveries.push(row.deliveries.length);
    for (const d of row.deliveries) packed.deliveries.push(d.action, d.orderKey, d.held ? 1 : 0);
  }
  return packed;
}

export function unpackIngest(packed: PackedIngest): IngestEvent[] {
  const rows: IngestEvent[] = [];
  let at = 0;
  const { deliveries } = packed;
  for (let i = 0; i < packed.ids.length; i++) {
    const count = deliveries[at++] as number;
    const row: IngestEvent = {
      event: { id: packed.ids[i]!, type: packed.types[i]!, time: packed.times[i]! },
      payload: packed.payloads[i]!,
      deliveries: [],
    };
    const trace = packed.traces?.[i];
    if (trace != null) row.trace = trace;
    for (let d = 0; d < count; d++, at += 3) {
      row.deliveries.push({
        action: deliveries[at] as string,
        orderKey: deliveries[at + 1] as string | null,
        held: deliveries[at + 2] === 1,
      });
    }
    rows.push(row);
  }
  return rows;
}

/**
 * Results: the delivered ones that had rows as keys by action, the rest as they are, and the watermarks as
 * [action, upto, …]. Deliveries that never had a row cost nothing here: their watermark covers them.
 */
export interface PackedCompletions {
  delivered: Record<string, number[]>;
  others: Completion[];
  watermarks: Array<string | number>;
}

export function packCompletions(
  completions: readonly Completion[],
  watermarks: readonly Watermark[] = [],
): PackedCompletions {
  const packed: PackedCompletions = { delivered: {}, others: [], watermarks: [] };
  for (const c of completions) {
    if (c.result !== "delivered" || c.latest) packed.others.push(c);
    else if (c.rowless) continue;
    else if (packed.delivered[c.action]) packed.delivered[c.action]!.push(c.key);
    else packed.delivered[c.action] = [c.key];
  }
  for (const mark of watermarks) packed.watermarks.push(mark.action, mark.upto);
  return packed;
}

export function unpackCompletions(packed: PackedCompletions): [Completion[], Watermark[]] {
  const completions: Completion[] = [...packed.others];
  for (const [action, keys] of Object.entries(packed.delivered)) {
    for (const key of keys) completions.push({ key, action, result: "delivered" });
  }
  const watermarks: Watermark[] = [];
  for (let i = 0; i < packed.watermarks.length; i += 2) {
    watermarks.push({ action: packed.watermarks[i] as string, upto: packed.watermarks[i + 1] as number });
  }
  return [completions, watermarks];
}

/** Attempt records as columns; an absent optional field is null. */
export interface PackedAttempts {
  actions: string[];
  /**
   * Per attempt its tenant, null for `default`; absent when every attempt is of `default` (a single-tenant
   * host never sends it).
   */
  tenants?: Array<string | null>;
  eventIds: string[];
  eventKeys: Array<number | null>;
  types: string[];
  attempts: number[];
  startedAt: number[];
  durations: number[];
  /** Index in OUTCOMES. */
  outcomes: number[];
  statuses: Array<number | null>;
  errors: Array<string | null>;
  replicas: string[];
  /** Each attempt's log lines as the JSON its column stores (one string, not an object per line). */
  logs: Array<string | null>;
}

export function packAttempts(records: readonly AttemptRecord[]): PackedAttempts {
  const packed: PackedAttempts = {
    actions: [],
    eventIds: [],
    eventKeys: [],
    types: [],
    attempts: [],
    startedAt: [],
    durations: [],
    outcomes: [],
    statuses: [],
    errors: [],
    replicas: [],
    logs: [],
  };
  for (const r of records) {
    packed.actions.push(r.action);
    if (r.tenant !== undefined && r.tenant !== DEFAULT_TENANT) {
      packed.tenants ??= new Array<string | null>(packed.actions.length - 1).fill(null);
      packed.tenants.push(r.tenant);
    } else packed.tenants?.push(null);
    packed.eventIds.push(r.eventId);
    packed.eventKeys.push(r.eventKey ?? null);
    packed.types.push(r.eventType);
    packed.attempts.push(r.attempt);
    packed.startedAt.push(r.startedAt);
    packed.durations.push(r.durationMs);
    packed.outcomes.push(OUTCOMES.indexOf(r.outcome));
    packed.statuses.push(r.status ?? null);
    packed.errors.push(r.error ?? null);
    packed.replicas.push(r.replica);
    packed.logs.push(logsColumn(r.logs));
  }
  return packed;
}

export function unpackAttempts(packed: PackedAttempts): AttemptRecord[] {
  const records: AttemptRecord[] = [];
  for (let i = 0; i < packed.actions.length; i++) {
    const key = packed.eventKeys[i];
    const status = packed.statuses[i];
    const error = packed.errors[i];
    const tenant = packed.tenants?.[i];
    records.push({
      action: packed.actions[i]!,
      ...(tenant != null ? { tenant } : {}),
      eventId: packed.eventIds[i]!,
      ...(key != null ? { eventKey: key } : {}),
      eventType: packed.types[i]!,
      attempt: packed.attempts[i]!,
      startedAt: packed.startedAt[i]!,
      durationMs: packed.durations[i]!,
      outcome: OUTCOMES[packed.outcomes[i]!]!,
      ...(status != null ? { status } : {}),
      ...(error != null ? { error } : {}),
      replica: packed.replicas[i]!,
      ...logsField(packed.logs[i] ?? null),
    });
  }
  return records;
}
