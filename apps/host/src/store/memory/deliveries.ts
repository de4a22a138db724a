// Events, deliveries and their claims (the delivery part of StateStore in ../types.ts). The memory engine has
// one host and writes a row for every delivery, held ones included (`heldDeliveries:
// row`): a held delivery's row is in flight from ingest, so nothing is lost in a crash without watermarks.
import { DEFAULT_TENANT } from "../../tenants.js";
import { isNewer } from "../latest.js";
import type {
  ClaimedDelivery,
  Completion,
  IngestEvent,
  IngestResult,
  StateStore,
  StoreStats,
} from "../types.js";
import {
  type Answers,
  allRows,
  type DeliveryRow,
  type DeliveryStatus,
  type EventRow,
  entryOf,
  type MemoryState,
  rowsOf,
} from "./state.js";

type DeliveryMethods = Pick<
  StateStore,
  "getCursor" | "ingest" | "claim" | "complete" | "recover" | "countUnfinished" | "stats"
>;

export function memoryDeliveries(state: MemoryState): Answers<DeliveryMethods> {
  /** A new row of `action` for the event `key`, due at `now`. */
  const addRow = (
    action: string,
    key: number,
    status: DeliveryStatus,
    orderKey: string | null,
    now: number,
  ): DeliveryRow => {
    const row: DeliveryRow = {
      action,
      key,
      status,
      attempts: 0,
      attemptsBefore: 0,
      dueAt: now,
      orderKey,
      lastError: undefined,
      updatedAt: now,
    };
    entryOf(state.deliveries, action, () => new Map()).set(key, row);
    return row;
  };

  /** `IngestResult.declined`: a pending row of the action and order key waits in the store. */
  const keyWaits = (action: string, orderKey: string): boolean => {
    for (const row of rowsOf(state, action).values()) {
      if (row.status === "pending" && row.orderKey === orderKey) return true;
    }
    return false;
  };

  /** A claimed row as the runner gets it; undefined when its payload is gone (see below). */
  const claimed = (row: DeliveryRow): ClaimedDelivery | undefined => {
    const event = state.events.get(row.key);
    // `prune` drops only payloads of events without rows, so this does not happen; were it to, a claim
    // returns nothing rather than deliver an empty payload (as both SQL engines do).
    if (event?.payload === undefined) return undefined;
    return {
      key: row.key,
      action: row.action,
      attempts: row.attempts,
      payload: event.payload,
      ...(row.attemptsBefore > 0 ? { attemptsBefore: row.attemptsBefore } : {}),
      ...(event.trace !== undefined ? { trace: event.trace } : {}),
      ...(event.tenant !== DEFAULT_TENANT ? { tenant: event.tenant } : {}),
    };
  };

  /** A retry or a dead letter: the row is written (or rewritten) with the attempt's result. */
  const settle = (
    c: Extract<Completion, { result: "retry" | "dead" }>,
    status: DeliveryStatus,
    dueAt: number,
    now: number,
  ): void => {
    // A result for an event the store no longer has (never the case for a row it keeps) writes nothing.
    if (!state.events.has(c.key)) return;
    // A row keeps the order key it was written with; a row the result creates takes the completion's.
    const row =
      rowsOf(state, c.action).get(c.key) ?? addRow(c.action, c.key, status, c.orderKey ?? null, now);
    row.status = status;
    row.attempts = c.attempts;
    row.dueAt = dueAt;
    row.lastError = c.error;
    row.updatedAt = now;
  };

  return {
    getCursor: (tenant = DEFAULT_TENANT) => state.cursors.get(tenant),

    ingest(events, cursor, tenant = DEFAULT_TENANT): IngestResult {
      const now = Date.now();
      const ids = entryOf(state.eventKeys, tenant, () => new Map());
      const keys: Array<number | undefined> = [];
      const declined: Array<[number, string]> = [];
      for (const [index, item] of events.entries()) {
        // Event ids are deduplicated per tenant, a repeat within the batch included: it writes nothing.
        if (ids.has(item.event.id)) {
          keys.push(undefined);
          continue;
        }
        const key = ++state.lastEventKey;
        ids.set(item.event.id, key);
        state.events.set(key, eventRow(item, key, tenant, now));
        keys.push(key);
        for (const delivery of item.deliveries) {
          // One row per action and event (a repeated action in the list is written once).
          if (rowsOf(state, delivery.action).has(key)) continue;
          let status: DeliveryStatus = delivery.held ? "in flight" : "pending";
          // A held delivery whose key has an earlier row waiting (pending) is not run now: it waits its turn,
          // pending. One in flight does not count: on one host it is in this host's memory, whose runner
          // queues the later ones behind it.
          if (delivery.held && delivery.orderKey !== null && keyWaits(delivery.action, delivery.orderKey)) {
            declined.push([index, delivery.action]);
            status = "pending";
          }
          // `heldDeliveries: row`: a held delivery gets its row at once, in flight, so that `recover` makes it
          // due again should the host stop before its result is written.
          addRow(delivery.action, key, status, delivery.orderKey, now);
        }
      }
      // The cursor moves with the batch; a batch without one keeps it.
      if (cursor !== undefined) state.cursors.set(tenant, cursor);
      return declined.length > 0 ? { keys, declined } : { keys };
    },

    claim(action, limit, now, ordered) {
      const rows = [...rowsOf(state, action).values()];
      const isDue = (row: DeliveryRow) => row.status === "pending" && row.dueAt <= now;
      let due: DeliveryRow[];
      if (ordered) {
        // Stream order, and a row is due only when no earlier row of its key waits for a later time (a
        // retry): per key, the rows taken are a prefix of its pending ones. Rows in flight do not hold the
        // later ones back (the host queues them behind), nor do dead letters.
        const waiting = rows.filter((r) => r.status === "pending" && r.dueAt > now && r.orderKey !== null);
        const heldBack = (row: DeliveryRow) =>
          waiting.some((w) => w.orderKey === row.orderKey && w.key < row.key);
        due = rows.filter((row) => isDue(row) && !heldBack(row)).sort((a, b) => a.key - b.key);
      } else {
        // Oldest due first, then stream order.
        due = rows.filter(isDue).sort((a, b) => a.dueAt - b.dueAt || a.key - b.key);
      }
      const deliveries: ClaimedDelivery[] = [];
      for (const row of due.slice(0, Math.max(0, limit))) {
        row.status = "in flight";
        row.updatedAt = now;
        const delivery = claimed(row);
        if (delivery) deliveries.push(delivery);
      }
      return deliveries;
    },

    // `heldDeliveries: row`: the host sends no watermarks (any given are ignored: every held delivery has a
    // row already).
    complete(completions) {
      const now = Date.now();
      for (const c of completions) {
        if (c.result === "delivered") {
          // Delivered: its row goes. `rowless` does not apply: every held delivery got a row at ingest.
          state.deliveries.get(c.action)?.delete(c.key);
          if (c.latest) {
            // Latest wins: the subject's mark moves to this event unless it already marks a newer one.
            const marks = entryOf(state.latest, c.action, () => new Map());
            const mark = marks.get(c.latest.subject);
            if (mark === undefined || isNewer({ time: c.latest.time, key: c.key }, mark.time, mark.key)) {
              marks.set(c.latest.subject, { time: c.latest.time, key: c.key });
            }
          }
        } else if (c.result === "retry") {
          settle(c, "pending", c.dueAt, now);
        } else if (c.result === "dead") {
          settle(c, "dead", now, now);
        } else if (!rowsOf(state, c.action).has(c.key) && state.events.has(c.key)) {
          // `running`: a held delivery that runs long has a row (in flight) already; one without is given it.
          addRow(c.action, c.key, "in flight", c.orderKey ?? null, now).attempts = c.attempts;
        }
      }
    },

    // One host per state: whatever is in flight when a host starts belonged to the run that stopped, held
    // deliveries included (they have rows). They are due again, at the time they were due.
    recover() {
      let recovered = 0;
      for (const row of allRows(state)) {
        if (row.status !== "in flight") continue;
        row.status = "pending";
        recovered++;
      }
      return recovered;
    },

    countUnfinished() {
      let unfinished = 0;
      for (const row of allRows(state)) if (row.status !== "dead") unfinished++;
      return unfinished;
    },

    stats(tenant) {
      // `pending` counts waiting and in-flight rows, per action; `dead` the dead letters. Actions with none
      // are absent. A row's event is kept as long as the row (`prune`).
      const stats: StoreStats = { pending: {}, dead: {} };
      for (const row of allRows(state)) {
        if (tenant !== undefined && state.events.get(row.key)?.tenant !== tenant) continue;
        const counts = row.status === "dead" ? stats.dead : stats.pending;
        counts[row.action] = (counts[row.action] ?? 0) + 1;
      }
      return stats;
    },
  };
}

/** The stored form of an ingested event. */
function eventRow(item: IngestEvent, key: number, tenant: string, now: number): EventRow {
  return {
    key,
    tenant,
    eventId: item.event.id,
    type: item.event.type,
    time: item.event.time,
    receivedAt: now,
    payload: item.payload,
    trace: item.trace,
  };
}
