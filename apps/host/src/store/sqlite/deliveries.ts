// The SQLite store's deliveries: ingest, claim, complete and recover, the cursors and the watermarks.
import { cursorKey, DEFAULT_TENANT } from "../../tenants.js";
import { claimedOf } from "../rows.js";
import type {
  ClaimedDelivery,
  Completion,
  IngestEvent,
  IngestResult,
  StateStore,
  Watermark,
} from "../types.js";
import { DEAD, IN_FLIGHT, PENDING, type SqliteContext, type Synchronous } from "./context.js";

// How a held delivery is kept without a row (its event's claim and its action's watermark), and how
// `recover` gives rows to a crashed run's claims: the layout notes above SCHEMA in schema.ts.

export type SqliteDeliveries = Synchronous<
  Pick<StateStore, "getCursor" | "ingest" | "claim" | "complete" | "recover">
>;

/** A due row as a claim reads it (both claims). */
interface DueRow {
  event: number;
  tenant: string;
  attempts: number;
  attempts_before: number;
  payload: string;
  trace: string | null;
}

export function sqliteDeliveries({
  db,
  actions,
  meta,
  transaction,
  onCommit,
}: SqliteContext): SqliteDeliveries {
  const insertEvent = db.prepare<
    [string, string, string, string, number, string, string | null, string | null],
    { id: number }
  >(
    "INSERT INTO events (tenant, event_id, type, time, received_at, payload, claims, trace) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(tenant, event_id) DO NOTHING RETURNING id",
  );
  const insertDelivery = db.prepare<[number, number, number, number, string | null, number]>(
    "INSERT OR IGNORE INTO deliveries (action, event, status, attempts, due_at, order_key, updated_at) VALUES (?, ?, ?, 0, ?, ?, ?)",
  );
  const deleteDelivery = db.prepare<[number, number]>(
    "DELETE FROM deliveries WHERE action = ? AND event = ?",
  );
  // A retry or a dead letter of a held delivery creates its row; one read from the store updates it.
  const settleDelivery = db.prepare<[number, number, number, number, number, string | null, string, number]>(
    `INSERT INTO deliveries (action, event, status, attempts, due_at, order_key, last_error, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT(action, event) DO UPDATE SET status = excluded.status, attempts = excluded.attempts,
       due_at = excluded.due_at, last_error = excluded.last_error, updated_at = excluded.updated_at`,
  );
  const insertRunning = db.prepare<[number, number, number, number, string | null, number]>(
    `INSERT OR IGNORE INTO deliveries (action, event, status, attempts, due_at, order_key, updated_at) VALUES (?, ?, ${IN_FLIGHT}, ?, ?, ?, ?)`,
  );
  // Latest wins: a subject's mark only ever moves to a newer event (by time, then stream position).
  const upsertLatest = db.prepare<[number, string, number, number]>(
    `INSERT INTO latest (action, subject, time, event) VALUES (?, ?, ?, ?)
     ON CONFLICT(action, subject) DO UPDATE SET time = excluded.time, event = excluded.event
     WHERE (excluded.time, excluded.event) > (latest.time, latest.event)`,
  );
  // An ordered delivery is held in memory only when no earlier one of its key waits in the store. One in
  // flight does not count: on SQLite (one host) it is in this host's memory, where the runner's turns order
  // it (engine/key-turns.ts). Counting it sent a busy subject's every event through the store for good.
  const keyUnfinished = db.prepare<[number, string], { one: number }>(
    `SELECT 1 AS one FROM deliveries WHERE action = ? AND order_key = ? AND status = ${PENDING} LIMIT 1`,
  );
  // Whether the action has any pending keyed row at all: asked once per batch, so that an action with none
  // (the usual case) asks nothing per delivery.
  const anyKeyPending = db.prepare<[number], { one: number }>(
    `SELECT 1 AS one FROM deliveries INDEXED BY deliveries_later WHERE action = ? AND order_key IS NOT NULL AND status = ${PENDING} LIMIT 1`,
  );
  // Ingest creates an action's watermark, just below its first claim, before any claim can need it.
  const startWatermark = db.prepare<[number, number]>(
    "INSERT OR IGNORE INTO watermarks (action, upto) VALUES (?, ?)",
  );
  const moveWatermark = db.prepare<[number, number]>(
    "UPDATE watermarks SET upto = max(upto, ?) WHERE action = ?",
  );
  const watermarked = new Set<number>();
  const selectDue = db.prepare<[number, number, number], DueRow>(
    `SELECT d.event, e.tenant, d.attempts, d.attempts_before, e.payload, e.trace FROM deliveries d JOIN events e ON e.id = d.event
     WHERE d.action = ? AND d.status = ${PENDING} AND d.due_at <= ? ORDER BY d.due_at, d.event LIMIT ?`,
  );
  // Ordered actions: due rows in stream order, but none behind an earlier row of its key that waits for a
  // later time (a retry): the rows taken are, per key, a prefix of its pending ones. An earlier row in flight
  // does not hold one back: on SQLite (one host) it is in this host's memory, where the runner's turns queue
  // the later one behind it (engine/key-turns.ts). Holding them back made every claim of a busy subject scan
  // its whole backlog to take one row. Dead letters do not block: one poisoned event must not stall a user's
  // later events forever.
  const selectDueOrdered = db.prepare<[number, number, number, number], DueRow>(
    `SELECT d.event, e.tenant, d.attempts, d.attempts_before, e.payload, e.trace FROM deliveries d INDEXED BY deliveries_next JOIN events e ON e.id = d.event
     WHERE d.action = ? AND d.status = ${PENDING} AND d.due_at <= ?
       AND (d.order_key IS NULL OR NOT EXISTS (
         SELECT 1 FROM deliveries p INDEXED BY deliveries_later
         WHERE p.action = d.action AND p.order_key = d.order_key AND p.status = ${PENDING} AND p.due_at > ?
           AND p.event < d.event))
     ORDER BY d.event LIMIT ?`,
  );
  const markInFlight = db.prepare<[number, number, number]>(
    `UPDATE deliveries SET status = ${IN_FLIGHT}, updated_at = ? WHERE action = ? AND event = ?`,
  );

  const ingestTx = transaction(
    (events: readonly IngestEvent[], cursor: string | undefined, tenant: string): IngestResult => {
      const now = Date.now();
      const keys: Array<number | undefined> = [];
      const declined: Array<[number, string]> = [];
      const declinedDeliveries = new Set<object>();
      // Per action: whether a pending keyed row may exist (then each held delivery asks about its key).
      const keysPending = new Map<number, boolean>();
      const mayWait = (action: number): boolean => {
        let pending = keysPending.get(action);
        if (pending === undefined) {
          pending = anyKeyPending.get(action) !== undefined;
          keysPending.set(action, pending);
        }
        return pending;
      };
      for (const [index, item] of events.entries()) {
        let claims: string | null = null;
        for (const delivery of item.deliveries) {
          if (!delivery.held) continue;
          const action = actions.id(delivery.action);
          if (delivery.orderKey !== null && mayWait(action) && keyUnfinished.get(action, delivery.orderKey)) {
            // Its row is written below, pending, once the event has its key.
            declined.push([index, delivery.action]);
            declinedDeliveries.add(delivery);
            continue;
          }
          const claim = claimOf(action, delivery.orderKey);
          claims = claims === null ? claim : `${claims},${claim}`;
        }
        const row = insertEvent.get(
          tenant,
          item.event.id,
          item.event.type,
          item.event.time,
          now,
          item.payload,
          claims,
          item.trace ?? null,
        );
        keys.push(row?.id);
        if (!row) continue;
        for (const delivery of item.deliveries) {
          const action = actions.id(delivery.action);
          if (!delivery.held || declinedDeliveries.has(delivery)) {
            insertDelivery.run(action, row.id, PENDING, now, delivery.orderKey, now);
            if (delivery.orderKey !== null) keysPending.set(action, true);
          } else if (!watermarked.has(action)) {
            // Again for each held delivery of the action until the ingest commits: the first one's stays.
            startWatermark.run(action, row.id - 1);
            onCommit(() => watermarked.add(action));
          }
        }
      }
      if (cursor !== undefined) meta.set(cursorKey(tenant), cursor);
      if (declined.length === 0) return { keys };
      // A duplicate event wrote no row: nothing of it was declined.
      const written = declined.filter(([index]) => keys[index] !== undefined);
      return written.length > 0 ? { keys, declined: written } : { keys };
    },
  );

  const claimTx = transaction((action: string, limit: number, now: number, ordered: boolean) => {
    const id = actions.id(action);
    const rows = ordered ? selectDueOrdered.all(id, now, now, limit) : selectDue.all(id, now, limit);
    const claimed: ClaimedDelivery[] = [];
    for (const row of rows) {
      markInFlight.run(now, id, row.event);
      const delivery = claimedOf(action, row);
      if (delivery) claimed.push(delivery);
    }
    return claimed;
  });

  const completeTx = transaction((completions: readonly Completion[], watermarks: readonly Watermark[]) => {
    const now = Date.now();
    for (const c of completions) {
      const id = actions.id(c.action);
      if (c.result === "delivered") {
        if (!c.rowless) deleteDelivery.run(id, c.key);
        if (c.latest) upsertLatest.run(id, c.latest.subject, c.latest.time, c.key);
      } else if (c.result === "retry") {
        settleDelivery.run(id, c.key, PENDING, c.attempts, c.dueAt, c.orderKey ?? null, c.error, now);
      } else if (c.result === "dead") {
        settleDelivery.run(id, c.key, DEAD, c.attempts, now, c.orderKey ?? null, c.error, now);
      } else {
        insertRunning.run(id, c.key, c.attempts, now, c.orderKey ?? null, now);
      }
    }
    for (const mark of watermarks) moveWatermark.run(mark.upto, actions.id(mark.action));
  });

  // The claims of a crashed run that its watermarks had not passed: each gets a due row.
  const recoverClaims = (now: number): number => {
    const marks = new Map(
      db
        .prepare<[], { action: number; upto: number }>("SELECT action, upto FROM watermarks")
        .all()
        .map((m) => [m.action, m.upto]),
    );
    if (marks.size === 0) return 0;
    const lowest = Math.min(...marks.values());
    let recovered = 0;
    const claimed = db.prepare<[number], { id: number; claims: string }>(
      "SELECT id, claims FROM events WHERE id > ? AND claims IS NOT NULL ORDER BY id",
    );
    for (const event of claimed.all(lowest)) {
      for (const claim of event.claims.split(",")) {
        const { action, orderKey } = parseClaim(claim);
        const upto = marks.get(action);
        if (upto !== undefined && event.id > upto) {
          recovered += insertDelivery.run(action, event.id, PENDING, now, orderKey, now).changes;
        }
      }
    }
    return recovered;
  };

  let refused: Error | undefined;
  return {
    getCursor: (tenant = DEFAULT_TENANT) => meta.get(cursorKey(tenant)),
    ingest: (events, cursor, tenant = DEFAULT_TENANT) => ingestTx(events, cursor, tenant),
    claim: (action, limit, now, ordered) => claimTx(action, limit, now, ordered),
    complete(completions, watermarks = []) {
      // After a batch that failed, none: a later one's watermarks would pass the failed one's retries, whose
      // rows were never written, and recovery would count them done. Reopened, the store recovers them all.
      if (refused) throw refused;
      if (completions.length === 0 && watermarks.length === 0) return;
      try {
        completeTx(completions, watermarks);
      } catch (error) {
        refused = new Error(
          `results are no longer written: an earlier batch failed (${error instanceof Error ? error.message : String(error)})`,
        );
        throw error;
      }
    },
    recover: transaction(() => {
      const inFlight = db
        .prepare(`UPDATE deliveries SET status = ${PENDING} WHERE status = ${IN_FLIGHT}`)
        .run().changes;
      const claims = recoverClaims(Date.now());
      // Every claim now has a row: this run starts new watermarks at its own first claims.
      db.exec("DELETE FROM watermarks");
      watermarked.clear();
      return inFlight + claims;
    }),
  };
}

/** One action's claim of an event in its `claims`: the action's id, and its order key (encoded: no commas). */
function claimOf(action: number, orderKey: string | null): string {
  return orderKey === null ? String(action) : `${action}=${encodeURIComponent(orderKey)}`;
}

function parseClaim(claim: string): { action: number; orderKey: string | null } {
  const at = claim.indexOf("=");
  if (at === -1) return { action: Number(claim), orderKey: null };
  return { action: Number(claim.slice(0, at)), orderKey: decodeURIComponent(claim.slice(at + 1)) };
}
