// The Postgres store's deliveries: ingest (fenced by the stream lease), claim, complete and recover, and
// the cursors. The replica protocol they follow is described in store.ts.
import { cursorKey, DEFAULT_TENANT } from "../../tenants.js";
import { isNewer } from "../latest.js";
import { claimedOf } from "../rows.js";
import type { ClaimedDelivery, Completion, StateStore } from "../types.js";
import { DEAD, IN_FLIGHT, PENDING, type PostgresContext } from "./context.js";

export type PostgresDeliveries = Pick<StateStore, "getCursor" | "ingest" | "claim" | "complete" | "recover">;

export function postgresDeliveries({ query, tx, replicaId, leaseOf }: PostgresContext): PostgresDeliveries {
  return {
    async getCursor(tenant = DEFAULT_TENANT) {
      const { rows } = await query<{ value: string }>("SELECT value FROM meta WHERE key = $1", [
        cursorKey(tenant),
      ]);
      return rows[0]?.value;
    },

    ingest: (events, cursor, tenant = DEFAULT_TENANT) =>
      tx(async (client) => {
        // The stream's position belongs to the leader. An ingest that moves no cursor (the webhook source on
        // any replica, `switchyard send-test`) only adds events, deduped by id; the deliveries it holds in
        // memory are written in flight, owned by this replica, as any claim is.
        if (cursor !== undefined) {
          await leaseOf(tenant).fence(client);
        }
        const now = Date.now();
        const keys: Array<number | undefined> = [];
        const declined: Array<[number, string]> = [];
        if (events.length > 0) {
          const { rows } = await client.query<{ id: string; event_id: string }>(
            `INSERT INTO events (tenant, event_id, type, time, received_at, payload, trace)
             SELECT $7, event_id, type, time, $5, payload, trace
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $6::text[]) WITH ORDINALITY AS t(event_id, type, time, payload, trace, n)
             ORDER BY n
             ON CONFLICT (tenant, event_id) DO NOTHING RETURNING id, event_id`,
            [
              events.map((e) => e.event.id),
              events.map((e) => e.event.type),
              events.map((e) => e.event.time),
              events.map((e) => e.payload),
              now,
              events.map((e) => e.trace ?? null),
              tenant,
            ],
          );
          const inserted = new Map(rows.map((row) => [row.event_id, Number(row.id)]));
          const actions: string[] = [];
          const eventKeys: number[] = [];
          const statuses: number[] = [];
          const orderKeys: Array<string | null> = [];
          const owners: Array<string | null> = [];
          // Which event (its index) each held delivery belongs to, to report the ones declined.
          const heldAt = new Map<string, number>();
          for (const [index, item] of events.entries()) {
            const key = inserted.get(item.event.id);
            // A repeat of an id within the batch is a duplicate of its first occurrence.
            inserted.delete(item.event.id);
            keys.push(key);
            if (key === undefined) continue;
            for (const delivery of item.deliveries) {
              actions.push(delivery.action);
              eventKeys.push(key);
              // Claimed at ingest: the row is written in flight, owned by this replica (no rowless claims).
              statuses.push(delivery.held ? IN_FLIGHT : PENDING);
              orderKeys.push(delivery.orderKey);
              owners.push(delivery.held ? replicaId : null);
              if (delivery.held && delivery.orderKey !== null)
                heldAt.set(`${delivery.action}\u0000${key}`, index);
            }
          }
          if (actions.length > 0) {
            // A held delivery with an order key is written pending instead when an earlier delivery of its
            // key waits in the store, or runs on another replica (the host does not run it: `declined`). One
            // in flight on this replica does not count: it is in this host's memory, held or claimed, and its
            // runner queues the new one behind it (engine/key-turns.ts), as on SQLite. Declining those too
            // sent every later event of a busy subject through a row and a claim: 950 deliveries/s instead of
            // ~9,000 in the 3-action bench. Events of one key in a batch are all held or all not, so rows of
            // this statement never need to see each other.
            const { rows: declinedRows } = await client.query<{ action: string; event: string }>(
              `WITH input AS (
                 SELECT a, e, s, k, o FROM unnest($1::text[], $2::bigint[], $3::smallint[], $4::text[], $5::text[]) AS t(a, e, s, k, o)
               ), decided AS (
                 SELECT a, e, k, s = ${IN_FLIGHT} AND k IS NOT NULL AND EXISTS (
                   SELECT 1 FROM deliveries p WHERE p.action = a AND p.order_key = k
                     AND (p.status = ${PENDING} OR (p.status = ${IN_FLIGHT} AND p.owner IS DISTINCT FROM $7))
                 ) AS declined, s, o FROM input
               ), inserted AS (
                 INSERT INTO deliveries (action, event, status, attempts, due_at, order_key, updated_at, owner)
                 SELECT a, e, CASE WHEN declined THEN ${PENDING} ELSE s END, 0, $6, k, $6,
                   CASE WHEN declined THEN NULL ELSE o END
                 FROM decided
                 ON CONFLICT (action, event) DO NOTHING
               )
               SELECT a AS action, e AS event FROM decided WHERE declined`,
              [actions, eventKeys, statuses, orderKeys, owners, now, replicaId],
            );
            for (const row of declinedRows) {
              const index = heldAt.get(`${row.action}\u0000${row.event}`);
              if (index !== undefined) declined.push([index, row.action]);
            }
          }
        }
        if (cursor !== undefined) {
          await client.query(
            "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [cursorKey(tenant), cursor],
          );
        }
        return declined.length > 0 ? { keys, declined } : { keys };
      }),

    claim: (action, limit, now, ordered) =>
      tx(async (client) => {
        // Ordered actions: claims of one action take turns, so two replicas cannot each take a different
        // event of the same key. A delivery waits while an earlier one of its key is pending and not due (a
        // retry) or in flight on another replica; dead letters do not block. Earlier ones due now come in the
        // same claim (ORDER BY event: per key, the rows taken are a prefix of its pending ones), and earlier
        // ones in flight here are in this host's memory: its runner queues the claimed ones behind them
        // (engine/key-turns.ts), as on SQLite. Holding every later row back while one was in flight anywhere
        // let a busy subject move by one delivery per claim: 950 deliveries/s instead of ~9,000 in the
        // 3-action bench. The rows are locked without SKIP LOCKED: a skipped earlier row would let a later one
        // of its key run first (the claims of the action wait for each other anyway).
        if (ordered) {
          await client.query(
            "SELECT pg_advisory_xact_lock(hashtext('switchyard.claim:' || current_schema() || ':' || $1))",
            [action],
          );
        }
        const order = ordered ? "d.event" : "d.due_at, d.event";
        const { rows } = await client.query<{
          event: string;
          tenant: string;
          attempts: number;
          attempts_before: number;
          due_at: string;
          payload: string | null;
          trace: string | null;
        }>(
          `WITH due AS (
             SELECT d.action, d.event FROM deliveries d
             WHERE d.action = $1 AND d.status = ${PENDING} AND d.due_at <= $2
               ${
                 ordered
                   ? `AND (d.order_key IS NULL OR NOT EXISTS (
                 SELECT 1 FROM deliveries p WHERE p.action = d.action AND p.order_key = d.order_key
                   AND p.event < d.event AND (
                     (p.status = ${PENDING} AND p.due_at > $2)
                     OR (p.status = ${IN_FLIGHT} AND p.owner IS DISTINCT FROM $4))))`
                   : ""
               }
             ORDER BY ${order} LIMIT $3 FOR UPDATE${ordered ? "" : " SKIP LOCKED"})
           UPDATE deliveries d SET status = ${IN_FLIGHT}, owner = $4, updated_at = $2
           FROM due, events e WHERE d.action = due.action AND d.event = due.event AND e.id = d.event
           RETURNING d.event, e.tenant, d.attempts, d.attempts_before, d.due_at, e.payload, e.trace`,
          [action, now, limit, replicaId],
        );
        rows.sort((a, b) =>
          ordered
            ? Number(a.event) - Number(b.event)
            : Number(a.due_at) - Number(b.due_at) || Number(a.event) - Number(b.event),
        );
        const claimed: ClaimedDelivery[] = [];
        for (const row of rows) {
          const delivery = claimedOf(action, row);
          if (delivery) claimed.push(delivery);
        }
        return claimed;
      }),

    async complete(completions) {
      // `heldDeliveries: row`: every held delivery has a row, so there are no watermarks, and `running`
      // (a row for a held delivery running long) needs nothing: the row is in flight already.
      const last = new Map<string, Completion>();
      for (const c of completions) if (c.result !== "running") last.set(`${c.action}\u0000${c.key}`, c);
      if (last.size === 0) return;
      const done = { actions: [] as string[], events: [] as number[] };
      const settle = {
        actions: [] as string[],
        events: [] as number[],
        statuses: [] as number[],
        attempts: [] as number[],
        due: [] as number[],
        errors: [] as string[],
      };
      // The newest per subject: one statement may not update a row twice (two events of a subject can
      // finish within one batch, one after the other).
      const marks = new Map<string, { action: string; subject: string; time: number; key: number }>();
      const now = Date.now();
      for (const c of last.values()) {
        if (c.result === "delivered") {
          done.actions.push(c.action);
          done.events.push(c.key);
          if (c.latest) {
            const id = `${c.action}\u0000${c.latest.subject}`;
            const mark = marks.get(id);
            if (mark === undefined || !isNewer(mark, c.latest.time, c.key)) {
              marks.set(id, { action: c.action, subject: c.latest.subject, time: c.latest.time, key: c.key });
            }
          }
        } else if (c.result === "retry" || c.result === "dead") {
          settle.actions.push(c.action);
          settle.events.push(c.key);
          settle.statuses.push(c.result === "retry" ? PENDING : DEAD);
          settle.attempts.push(c.attempts);
          settle.due.push(c.result === "retry" ? c.dueAt : now);
          settle.errors.push(c.error);
        }
      }
      await tx(async (client) => {
        if (marks.size > 0) {
          // A subject's mark only moves to a newer event. Sorted, so that concurrent replicas lock marks in
          // one order.
          const latest = [...marks.values()];
          await client.query(
            `INSERT INTO latest (action, subject, time, event)
             SELECT a, s, t, e FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[]) AS x(a, s, t, e)
             ORDER BY a, s
             ON CONFLICT (action, subject) DO UPDATE SET time = excluded.time, event = excluded.event
             WHERE (excluded.time, excluded.event) > (latest.time, latest.event)`,
            [
              latest.map((m) => m.action),
              latest.map((m) => m.subject),
              latest.map((m) => m.time),
              latest.map((m) => m.key),
            ],
          );
        }
        if (done.actions.length > 0) {
          await client.query(
            "DELETE FROM deliveries WHERE (action, event) IN (SELECT * FROM unnest($1::text[], $2::bigint[]))",
            [done.actions, done.events],
          );
        }
        if (settle.actions.length > 0) {
          await client.query(
            `INSERT INTO deliveries (action, event, status, attempts, due_at, last_error, updated_at)
             SELECT a, e, s, n, d, err, $7
             FROM unnest($1::text[], $2::bigint[], $3::smallint[], $4::integer[], $5::bigint[], $6::text[]) AS t(a, e, s, n, d, err)
             ON CONFLICT (action, event) DO UPDATE SET status = excluded.status, attempts = excluded.attempts,
               due_at = excluded.due_at, last_error = excluded.last_error, updated_at = excluded.updated_at, owner = NULL
             -- A row that another replica claimed since (this one was taken for dead) is that replica's now.
             WHERE deliveries.owner IS NULL OR deliveries.owner = $8`,
            [
              settle.actions,
              settle.events,
              settle.statuses,
              settle.attempts,
              settle.due,
              settle.errors,
              now,
              replicaId,
            ],
          );
        }
      });
    },

    async recover() {
      // In-flight rows whose replica has stopped renewing (or closed, deleting its row) are due again. Their
      // due time is kept: it is already past.
      const { rowCount } = await query(
        `UPDATE deliveries SET status = ${PENDING}, owner = NULL
         WHERE status = ${IN_FLIGHT} AND (owner IS NULL OR owner NOT IN (
           SELECT id FROM replicas WHERE expires_at > clock_timestamp()))`,
      );
      return rowCount ?? 0;
    },
  };
}
