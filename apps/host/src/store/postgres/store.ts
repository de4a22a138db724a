import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { CacheRecord } from "@switchyard/core";
import pg from "pg";
import { actionStateOf, actionStateRow } from "../action-state.js";
import type { ClaimedDelivery, Completion, DeadLetter, StateStore, StoreStats } from "../types.js";
import { deadLetterQuery } from "./dead-letters.js";
import { postgresHistory } from "./history.js";
import { StreamLease } from "./lease.js";
import { migrate } from "./schema.js";
import { redactMessage, redactUrl } from "./url.js";

// The replica protocol, in one place:
// - Every store instance is a replica with an id. `touch` renews its row in `replicas` (expires_at = the
//   database's now + replicaTtlMs); `close` deletes it.
// - A delivery in flight has an owner: the replica that claimed it (`claim`, `FOR UPDATE SKIP LOCKED`) or
//   ingested it claimed (`ingest` with `claimed: true`: written in flight, never rowless as in SQLite).
// - `recover`, on any replica, makes due again every in-flight row whose owner has no live row. A replica that
//   was only slow may still finish: its `delivered` deletes the row (at least once, never lost); its retry or
//   dead letter does not touch a row another replica has claimed since.
// - The stream lease (lease.ts) decides which replica reads the stream; `ingest` is fenced by it.
// - Ordered actions: claims of one action take an advisory transaction lock, so the "no earlier unfinished
//   delivery of this key" check and the claim are one step across replicas.

export interface PostgresStoreOptions {
  /** How long the stream lease lasts without renewal (`leadership.acquire`), in ms. Default 5000. */
  leaseMs?: number;
  /** How long this replica counts as alive after a `touch`, in ms. Default 3 × leaseMs. */
  replicaTtlMs?: number;
  /** This replica's id; default `hostname-pid-random`. */
  replicaId?: string;
  /** Schema to work in (its `search_path`); default the server's (`public`). Tests use one each. */
  schema?: string;
  /** Connections in the pool. Default 4. */
  poolSize?: number;
  /** Hears errors of idle connections (the database restarted); they never crash the process. */
  onError?: (error: Error) => void;
}

/** The Postgres store: the contract, plus this replica's id and the stream's leader lease. */
export type PostgresStore = StateStore & {
  readonly replicaId: string;
  readonly leadership: StreamLease;
};

const PENDING = 0;
const IN_FLIGHT = 1;
const DEAD = 3;

/** A new replica id: the host, the process and a random part (two stores in one process differ). */
export function newReplicaId(): string {
  return `${hostname()}-${process.pid}-${randomBytes(4).toString("hex")}`;
}

/** Open (and migrate) the state in a PostgreSQL database shared by every replica. */
export async function openPostgresStore(
  url: string,
  options: PostgresStoreOptions = {},
): Promise<PostgresStore> {
  const leaseMs = options.leaseMs ?? 5000;
  const replicaTtlMs = options.replicaTtlMs ?? 3 * leaseMs;
  const replicaId = options.replicaId ?? newReplicaId();
  const where = redactUrl(url);
  const onError = options.onError ?? (() => {});
  // Bound every transaction: a paused process must not hold the lease row (or any row) for longer than a
  // lease, nor a statement wait forever on a lock.
  const settings = [
    `-c idle_in_transaction_session_timeout=${Math.max(1000, leaseMs)}`,
    `-c lock_timeout=${Math.max(2000, 2 * leaseMs)}`,
    "-c statement_timeout=60000",
    ...(options.schema ? [`-c search_path=${options.schema}`] : []),
  ];
  // The driver lets a URL's own `options` replace ours: merge them (the URL's last, so they win).
  const connection = withoutOptions(url);
  if (connection.options) settings.push(connection.options);
  const pool = new pg.Pool({
    connectionString: connection.url,
    max: options.poolSize ?? 4,
    options: settings.join(" "),
    connectionTimeoutMillis: 10_000,
    // Names the replica in pg_stat_activity (and lets a test end exactly this store's connections).
    application_name: `switchyard ${replicaId}`.slice(0, 63),
  });
  const report = (error: Error) =>
    onError(new Error(`[switchyard] [postgres] ${redactMessage(error.message, url)}`));
  // An idle connection's error (the server restarted) is reported, never thrown: the pool drops the client
  // and the next operation opens a new one. A checked-out client's error rejects its query.
  pool.on("error", report);
  pool.on("connect", (client) => client.on("error", report));

  try {
    const client = await pool.connect();
    try {
      await migrate(client, where);
    } finally {
      client.release();
    }
  } catch (error) {
    await pool.end().catch(() => {});
    if ((error as { code?: unknown }).code === "SWITCHYARD_SCHEMA_TOO_NEW") throw error;
    throw Object.assign(
      new Error(
        `[switchyard] [postgres] cannot open the state in ${where}: ${redactMessage((error as Error).message, url)}`,
      ),
      {
        code: "SWITCHYARD_STORE_UNAVAILABLE",
        // Whether waiting can help: the server is down or starting, not the URL, password or database wrong.
        transient: TRANSIENT.has(String((error as { code?: unknown }).code)),
      },
    );
  }

  /** Run `work` in one transaction on one connection; a connection that failed is dropped, not reused. */
  const tx = async <T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> => {
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      const result = await work(client);
      await client.query("COMMIT");
      client.release();
      return result;
    } catch (error) {
      let broken: Error | undefined;
      await client.query("ROLLBACK").catch((e: Error) => {
        broken = e;
      });
      client.release(broken);
      throw error;
    }
  };
  const query = async <R extends pg.QueryResultRow>(sql: string, params: unknown[] = []) =>
    pool.query<R>(sql, params);

  const leadership = new StreamLease(pool, replicaId, leaseMs);
  const touch = async () => {
    await query(
      `INSERT INTO replicas (id, expires_at) VALUES ($1, clock_timestamp() + $2 * interval '1 millisecond')
       ON CONFLICT (id) DO UPDATE SET expires_at = excluded.expires_at`,
      [replicaId, replicaTtlMs],
    );
  };
  // Register at once: the in-flight rows this replica writes are never ownerless.
  await touch().catch(async (error) => {
    await pool.end().catch(() => {});
    throw error;
  });
  let closed = false;

  const store: PostgresStore = {
    engine: "postgres",
    replicaId,
    leadership,
    ...postgresHistory(query, tx),

    async getCursor() {
      const { rows } = await query<{ value: string }>("SELECT value FROM meta WHERE key = 'cursor'");
      return rows[0]?.value;
    },

    ingest: (events, cursor) =>
      tx(async (client) => {
        // The stream's position belongs to the leader. An ingest that moves no cursor (the webhook source on
        // any replica, `switchyard send-test`) only adds events, deduped by id; the deliveries it holds in
        // memory are written in flight, owned by this replica, as any claim is.
        if (cursor !== undefined) {
          await leadership.fence(client);
        }
        const now = Date.now();
        const keys: Array<number | undefined> = [];
        if (events.length > 0) {
          const { rows } = await client.query<{ id: string; event_id: string }>(
            `INSERT INTO events (event_id, type, time, received_at, payload)
             SELECT event_id, type, time, $5, payload
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS t(event_id, type, time, payload, n)
             ORDER BY n
             ON CONFLICT (event_id) DO NOTHING RETURNING id, event_id`,
            [
              events.map((e) => e.event.id),
              events.map((e) => e.event.type),
              events.map((e) => e.event.time),
              events.map((e) => e.payload),
              now,
            ],
          );
          const inserted = new Map(rows.map((row) => [row.event_id, Number(row.id)]));
          const actions: string[] = [];
          const eventKeys: number[] = [];
          const statuses: number[] = [];
          const orderKeys: Array<string | null> = [];
          const owners: Array<string | null> = [];
          for (const item of events) {
            const key = inserted.get(item.event.id);
            // A repeat of an id within the batch is a duplicate of its first occurrence.
            inserted.delete(item.event.id);
            keys.push(key);
            if (key === undefined) continue;
            for (const delivery of item.deliveries) {
              actions.push(delivery.action);
              eventKeys.push(key);
              // Claimed at ingest: the row is written in flight, owned by this replica (no rowless claims).
              statuses.push(delivery.claimed ? IN_FLIGHT : PENDING);
              orderKeys.push(delivery.orderKey);
              owners.push(delivery.claimed ? replicaId : null);
            }
          }
          if (actions.length > 0) {
            await client.query(
              `INSERT INTO deliveries (action, event, status, attempts, due_at, order_key, updated_at, owner)
               SELECT a, e, s, 0, $6, k, $6, o
               FROM unnest($1::text[], $2::bigint[], $3::smallint[], $4::text[], $5::text[]) AS t(a, e, s, k, o)
               ON CONFLICT (action, event) DO NOTHING`,
              [actions, eventKeys, statuses, orderKeys, owners, now],
            );
          }
        }
        if (cursor !== undefined) {
          await client.query(
            "INSERT INTO meta (key, value) VALUES ('cursor', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [cursor],
          );
        }
        return { keys };
      }),

    claim: (action, limit, now, ordered) =>
      tx(async (client) => {
        // Ordered actions: claims of one action take turns, so two replicas cannot each take a different
        // event of the same key; a delivery waits while an earlier one of its key is unfinished (dead letters
        // do not block).
        if (ordered) {
          await client.query(
            "SELECT pg_advisory_xact_lock(hashtext('switchyard.claim:' || current_schema() || ':' || $1))",
            [action],
          );
        }
        const order = ordered ? "d.event" : "d.due_at, d.event";
        const { rows } = await client.query<{
          event: string;
          attempts: number;
          due_at: string;
          payload: string | null;
        }>(
          `WITH due AS (
             SELECT d.action, d.event FROM deliveries d
             WHERE d.action = $1 AND d.status = ${PENDING} AND d.due_at <= $2
               ${
                 ordered
                   ? `AND (d.order_key IS NULL OR NOT EXISTS (
                 SELECT 1 FROM deliveries p WHERE p.action = d.action AND p.order_key = d.order_key
                   AND p.event < d.event AND p.status IN (${PENDING}, ${IN_FLIGHT})))`
                   : ""
               }
             ORDER BY ${order} LIMIT $3 FOR UPDATE SKIP LOCKED)
           UPDATE deliveries d SET status = ${IN_FLIGHT}, owner = $4, updated_at = $2
           FROM due WHERE d.action = due.action AND d.event = due.event
           RETURNING d.event, d.attempts, d.due_at, (SELECT payload FROM events e WHERE e.id = d.event) AS payload`,
          [action, now, limit, replicaId],
        );
        rows.sort((a, b) =>
          ordered
            ? Number(a.event) - Number(b.event)
            : Number(a.due_at) - Number(b.due_at) || Number(a.event) - Number(b.event),
        );
        const claimed: ClaimedDelivery[] = [];
        for (const row of rows) {
          if (row.payload !== null)
            claimed.push({ key: Number(row.event), action, attempts: row.attempts, payload: row.payload });
        }
        return claimed;
      }),

    async complete(completions) {
      // Watermarks are SQLite's: here every claim has a row. `running` needs nothing: the row is in flight.
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
      const now = Date.now();
      for (const c of last.values()) {
        if (c.result === "delivered") {
          done.actions.push(c.action);
          done.events.push(c.key);
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

    async countUnfinished() {
      const { rows } = await query<{ n: number }>(
        `SELECT count(*)::integer AS n FROM deliveries WHERE status IN (${PENDING}, ${IN_FLIGHT})`,
      );
      return rows[0]?.n ?? 0;
    },

    async stats() {
      const { rows } = await query<{ action: string; status: number; n: number }>(
        "SELECT action, status, count(*)::integer AS n FROM deliveries GROUP BY action, status",
      );
      const stats: StoreStats = { pending: {}, dead: {} };
      for (const row of rows) {
        const bucket = row.status === DEAD ? stats.dead : stats.pending;
        bucket[row.action] = (bucket[row.action] ?? 0) + row.n;
      }
      return stats;
    },

    async listDead(filter) {
      const { where, params, limit } = deadLetterQuery(filter);
      const { rows } = await query<{
        action: string;
        event_id: string;
        type: string;
        time: string;
        attempts: number;
        last_error: string | null;
        updated_at: string;
      }>(
        `SELECT d.action, e.event_id, e.type, e.time, d.attempts, d.last_error, d.updated_at
         FROM deliveries d JOIN events e ON e.id = d.event WHERE ${where} ORDER BY d.updated_at, d.event${limit}`,
        params,
      );
      return rows.map(
        (row): DeadLetter => ({
          action: row.action,
          eventId: row.event_id,
          eventType: row.type,
          attempts: row.attempts,
          lastError: row.last_error ?? "",
          failedAt: new Date(Number(row.updated_at)).toISOString(),
          eventTime: row.time,
        }),
      );
    },
    async countDead(filter) {
      const { keys, params } = deadLetterQuery(filter);
      const { rows } = await query<{ n: number }>(`SELECT count(*)::integer AS n FROM (${keys}) k`, params);
      return rows[0]?.n ?? 0;
    },
    async replayDead(filter, now) {
      const { keys, params } = deadLetterQuery(filter);
      const at = params.length + 1;
      const { rowCount } = await query(
        `UPDATE deliveries SET status = ${PENDING}, attempts = 0, due_at = $${at}, updated_at = $${at}, owner = NULL
         WHERE (action, event) IN (${keys})`,
        [...params, now],
      );
      return rowCount ?? 0;
    },
    async purgeDead(filter) {
      const { keys, params } = deadLetterQuery(filter);
      const { rowCount } = await query(`DELETE FROM deliveries WHERE (action, event) IN (${keys})`, params);
      return rowCount ?? 0;
    },

    async actionStates() {
      const { rows } = await query<{
        action: string;
        paused: boolean;
        reason: string | null;
        since: string | null;
      }>("SELECT action, paused, reason, since FROM action_states");
      return Object.fromEntries(
        rows.map((row) => [
          row.action,
          actionStateOf({ ...row, since: row.since !== null ? Number(row.since) : null }),
        ]),
      );
    },
    async setActionState(action, state) {
      const row = actionStateRow(state);
      await query(
        `INSERT INTO action_states (action, paused, reason, since) VALUES ($1, $2, $3, $4)
         ON CONFLICT (action) DO UPDATE SET paused = excluded.paused, reason = excluded.reason, since = excluded.since`,
        [action, row.paused, row.reason, row.since],
      );
    },

    async loadCache(action) {
      const { rows } = await query<{ key: string; value: string; expires_at: string }>(
        "SELECT key, value, expires_at FROM cache WHERE action = $1 AND expires_at > $2",
        [action, Date.now()],
      );
      return rows.map((row) => [
        row.key,
        { value: row.value, expires_at: Number(row.expires_at) } satisfies CacheRecord,
      ]);
    },
    async saveCache(action, key, record) {
      await query(
        `INSERT INTO cache (action, key, value, expires_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (action, key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`,
        [action, key, record.value, record.expires_at],
      );
    },
    async removeCache(action, key) {
      await query("DELETE FROM cache WHERE action = $1 AND key = $2", [action, key]);
    },

    async prune(now, dedupeWindowMs, keepPayloadsMs = 0) {
      // One statement each, so the events and deliveries it reads are of one snapshot: an event is finished
      // once no delivery row references it (dead letters are rows, so their payloads stay). Finished events'
      // payloads stay `keepPayloadsMs` (for the event page), their rows as long as that or the dedupe window.
      const unused = "NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event = events.id)";
      if (keepPayloadsMs > 0) {
        await query(
          `UPDATE events SET payload = NULL WHERE payload IS NOT NULL AND received_at < $1 AND ${unused}`,
          [now - keepPayloadsMs],
        );
      } else {
        await query(`UPDATE events SET payload = NULL WHERE payload IS NOT NULL AND ${unused}`);
      }
      await query(`DELETE FROM events WHERE received_at < $1 AND ${unused}`, [
        now - Math.max(dedupeWindowMs, keepPayloadsMs),
      ]);
      await query("DELETE FROM cache WHERE expires_at <= $1", [now]);
      // Replicas gone for a day: `recover` treats a missing row like an expired one.
      await query("DELETE FROM replicas WHERE expires_at < clock_timestamp() - interval '1 day'");
    },

    touch: () => touch(),

    async close() {
      if (closed) return;
      closed = true;
      // A clean stop hands over at once: the lease expires, and the in-flight rows left (past the grace) are
      // free for the next `recover` anywhere.
      await leadership.release().catch(() => {});
      await query("DELETE FROM replicas WHERE id = $1", [replicaId]).catch(() => {});
      await pool.end();
    },
  };
  return store;
}

/** The URL without its `options` parameter, and that parameter. */
function withoutOptions(url: string): { url: string; options?: string } {
  try {
    const parsed = new URL(url);
    const options = parsed.searchParams.get("options");
    if (options === null) return { url };
    parsed.searchParams.delete("options");
    return { url: parsed.toString(), options };
  } catch {
    return { url };
  }
}

/** Connection failures that waiting can cure: the server is down, starting, restarting or overloaded. */
const TRANSIENT = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "57P01", // admin_shutdown
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now (starting up)
  "53300", // too_many_connections
]);
