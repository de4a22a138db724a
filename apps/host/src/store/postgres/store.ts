import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { CacheRecord } from "@switchyard/core";
import pg from "pg";
import { cursorKey, DEFAULT_TENANT } from "../../tenants.js";
import { actionStateOf, actionStateRow } from "../action-state.js";
import { eventTimeMs, isNewer } from "../latest.js";
import type {
  ClaimedDelivery,
  Completion,
  DeadLetter,
  StateStore,
  StoreStats,
  SupersededDeadLetter,
} from "../types.js";
import { postgresAudit } from "./audit.js";
import { postgresBreakers } from "./breakers.js";
import { deadLetterQuery } from "./dead-letters.js";
import { postgresHistory } from "./history.js";
import { StreamLease } from "./lease.js";
import { PostgresBuckets } from "./rate-buckets.js";
import { migrate } from "./schema.js";
import { redactMessage, redactUrl } from "./url.js";

// The replica protocol, in one place:
// - Every store instance is a replica with an id. `touch` renews its row in `replicas` (expires_at = the
//   database's now + replicaTtlMs); `close` deletes it.
// - A delivery in flight has an owner: the replica that claimed it (`claim`, `FOR UPDATE SKIP LOCKED`) or
//   ingested it held (`ingest` with `held: true`: written in flight, never rowless as in SQLite).
//   So `heldDeliveries` is `row`: the host sends no watermarks.
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

/** The Postgres store: the contract, plus this replica's id, the stream's leader lease and the rate buckets. */
export type PostgresStore = StateStore & {
  readonly replicaId: string;
  readonly leadership: StreamLease;
  readonly rateBuckets: PostgresBuckets;
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
  const leases = new Map<string, StreamLease>([[DEFAULT_TENANT, leadership]]);
  const leaseOf = (tenant: string): StreamLease => {
    let lease = leases.get(tenant);
    if (!lease) {
      lease = new StreamLease(pool, replicaId, leaseMs, tenant);
      leases.set(tenant, lease);
    }
    return lease;
  };
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
    inFlightOrder: "store",
    heldDeliveries: "row",
    replicaId,
    leadership,
    rateBuckets: new PostgresBuckets(query),
    ...postgresHistory(query, tx),
    ...postgresAudit(query),
    ...postgresBreakers(query),

    leadershipOf: leaseOf,

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
            // key is unfinished, on any replica (the host does not run it: `declined`). The host claims at
            // most one delivery per key and batch, so rows of this statement never need to see each other.
            const { rows: declinedRows } = await client.query<{ action: string; event: string }>(
              `WITH input AS (
                 SELECT a, e, s, k, o FROM unnest($1::text[], $2::bigint[], $3::smallint[], $4::text[], $5::text[]) AS t(a, e, s, k, o)
               ), decided AS (
                 SELECT a, e, k, s = ${IN_FLIGHT} AND k IS NOT NULL AND EXISTS (
                   SELECT 1 FROM deliveries p WHERE p.action = a AND p.order_key = k AND p.status IN (${PENDING}, ${IN_FLIGHT})
                 ) AS declined, s, o FROM input
               ), inserted AS (
                 INSERT INTO deliveries (action, event, status, attempts, due_at, order_key, updated_at, owner)
                 SELECT a, e, CASE WHEN declined THEN ${PENDING} ELSE s END, 0, $6, k, $6,
                   CASE WHEN declined THEN NULL ELSE o END
                 FROM decided
                 ON CONFLICT (action, event) DO NOTHING
               )
               SELECT a AS action, e AS event FROM decided WHERE declined`,
              [actions, eventKeys, statuses, orderKeys, owners, now],
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
                   AND p.event < d.event AND p.status IN (${PENDING}, ${IN_FLIGHT})))`
                   : ""
               }
             ORDER BY ${order} LIMIT $3 FOR UPDATE SKIP LOCKED)
           UPDATE deliveries d SET status = ${IN_FLIGHT}, owner = $4, updated_at = $2
           FROM due, events e WHERE d.action = due.action AND d.event = due.event AND e.id = d.event
           RETURNING d.event, d.attempts, d.attempts_before, d.due_at, e.payload, e.trace`,
          [action, now, limit, replicaId],
        );
        rows.sort((a, b) =>
          ordered
            ? Number(a.event) - Number(b.event)
            : Number(a.due_at) - Number(b.due_at) || Number(a.event) - Number(b.event),
        );
        const claimed: ClaimedDelivery[] = [];
        for (const row of rows) {
          if (row.payload === null) continue;
          const delivery: ClaimedDelivery = {
            key: Number(row.event),
            action,
            attempts: row.attempts,
            payload: row.payload,
          };
          if (row.attempts_before > 0) delivery.attemptsBefore = row.attempts_before;
          if (row.trace !== null) delivery.trace = row.trace;
          claimed.push(delivery);
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
        event: string;
        tenant: string;
        event_id: string;
        type: string;
        time: string;
        attempts: number;
        last_error: string | null;
        updated_at: string;
      }>(
        `SELECT d.action, d.event, e.tenant, e.event_id, e.type, e.time, d.attempts, d.last_error, d.updated_at
         FROM deliveries d JOIN events e ON e.id = d.event WHERE ${where} ORDER BY d.updated_at, d.event, d.action${limit}`,
        params,
      );
      return rows.map(
        (row): DeadLetter => ({
          action: row.action,
          tenant: row.tenant,
          eventId: row.event_id,
          eventType: row.type,
          attempts: row.attempts,
          lastError: row.last_error ?? "",
          failedAt: new Date(Number(row.updated_at)).toISOString(),
          eventTime: row.time,
          key: Number(row.event),
        }),
      );
    },
    async countDead(filter) {
      const { keys, params } = deadLetterQuery(filter);
      const { rows } = await query<{ n: number }>(`SELECT count(*)::integer AS n FROM (${keys}) k`, params);
      return rows[0]?.n ?? 0;
    },
    async replayDead(filter, now, superseded) {
      const { keys, params } = deadLetterQuery(filter, superseded);
      const at = params.length + 1;
      const { rowCount } = await query(
        `UPDATE deliveries SET status = ${PENDING}, attempts_before = attempts_before + attempts, attempts = 0,
           due_at = $${at}, updated_at = $${at}, owner = NULL
         WHERE (action, event) IN (${keys})`,
        [...params, now],
      );
      return rowCount ?? 0;
    },
    async supersededDead(filter) {
      const { where, params, limit } = deadLetterQuery(filter);
      const { rows } = await query<{
        action: string;
        event_id: string;
        time: string;
        event: string;
        mark_time: string;
        mark_event: string;
        newer: string | null;
      }>(
        `SELECT d.action, e.event_id, e.time, d.event, l.time AS mark_time, l.event AS mark_event,
           (SELECT event_id FROM events n WHERE n.id = l.event) AS newer
         FROM deliveries d JOIN events e ON e.id = d.event
           JOIN latest l ON l.action = d.action AND l.subject = d.order_key
         WHERE ${where} ORDER BY d.updated_at, d.event, d.action${limit}`,
        params,
      );
      return rows.flatMap((row): SupersededDeadLetter[] => {
        const time = eventTimeMs(row.time);
        const mark = { time: Number(row.mark_time), key: Number(row.mark_event) };
        if (time === undefined || !isNewer(mark, time, Number(row.event))) return [];
        return [
          {
            action: row.action,
            eventId: row.event_id,
            newerEventId: row.newer ?? undefined,
            newerTime: new Date(mark.time).toISOString(),
          },
        ];
      });
    },
    async latestDelivered(action, subject) {
      const { rows } = await query<{ time: string; event: string }>(
        "SELECT time, event FROM latest WHERE action = $1 AND subject = $2",
        [action, subject],
      );
      const row = rows[0];
      return row ? { time: Number(row.time), key: Number(row.event) } : undefined;
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
