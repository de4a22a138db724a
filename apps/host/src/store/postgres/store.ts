// The Postgres store, one facet per file (deliveries, dead letters, states, history, audit, upkeep), composed
// here over one pool; this file opens the pool and migrates the schema.
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import pg from "pg";
import { DEFAULT_TENANT } from "../../tenants.js";
import type { StateStore } from "../types.js";
import { postgresAudit } from "./audit.js";
import { IN_FLIGHT, PENDING, type PostgresContext } from "./context.js";
import { postgresDeadLetters } from "./dead-letters.js";
import { postgresDeliveries } from "./deliveries.js";
import { postgresHistory } from "./history.js";
import { StreamLease } from "./lease.js";
import { PostgresBuckets } from "./rate-buckets.js";
import { migrate } from "./schema.js";
import { postgresStates } from "./states.js";
import { transactions } from "./transaction.js";
import { postgresUpkeep } from "./upkeep.js";
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
// - A COMMIT whose answer is lost (the connection dropped) is looked up by transaction id (transaction.ts):
//   a committed ingest or claim stands; one the server cannot be asked about in time has the rows it left in
//   flight here made due again by the heartbeat once it can (they would be stranded: this replica is alive).
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
  /**
   * How long a COMMIT that failed without an answer waits to learn from the server whether it took effect, in
   * ms (transaction.ts). Default 5000.
   */
  commitCheckMs?: number;
  /**
   * How long the driver waits for the answer to one statement before it gives up on the connection, in ms:
   * a connection the network forgot (a failover to another address, a NAT's timeout) answers nothing and
   * never resets. Default 70,000, above the server's own `statement_timeout` of 60 s.
   */
  queryTimeoutMs?: number;
  /** Hears errors of idle connections (the database restarted); they never crash the process. */
  onError?: (error: Error) => void;
}

/** The Postgres store: the contract, plus this replica's id, the stream's leader lease and the rate buckets. */
export type PostgresStore = StateStore & {
  readonly replicaId: string;
  readonly leadership: StreamLease;
  readonly rateBuckets: PostgresBuckets;
};

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
    // Without it, a statement on a connection the network dropped silently waits for ever, and with it the
    // write path (an ingest holds the next one back): the stream would stop with no error. The statement
    // fails instead, the transaction's ROLLBACK too, and the connection is dropped (`tx`).
    query_timeout: options.queryTimeoutMs ?? 70_000,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
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

  // Each in one transaction on one connection; a connection that failed is dropped, not reused.
  const { tx, settle } = transactions(pool, replicaId, options.commitCheckMs ?? 5000);
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
  const context: PostgresContext = { pool, query, tx, replicaId, leadership, leaseOf };
  const upkeep = postgresUpkeep(context, replicaTtlMs);
  // Register at once: the in-flight rows this replica writes are never ownerless. (`touch` expires by the
  // database's clock; the time it is given is not used.) An id kept across restarts (SWITCHYARD_REPLICA_ID)
  // may own rows its earlier process had in flight when it was killed: this process holds none of them, and
  // `recover` passes them by while the id is alive, so they are made due again first.
  const register = async () => {
    if (options.replicaId !== undefined) {
      await query(
        `UPDATE deliveries SET status = ${PENDING}, owner = NULL WHERE status = ${IN_FLIGHT} AND owner = $1`,
        [replicaId],
      );
    }
    await upkeep.touch(Date.now());
  };
  await register().catch(async (error) => {
    await pool.end().catch(() => {});
    throw error;
  });

  const store: PostgresStore = {
    engine: "postgres",
    heldDeliveries: "row",
    replicaId,
    leadership,
    rateBuckets: new PostgresBuckets(query),
    ...postgresHistory(context),
    ...postgresAudit(context),
    leadershipOf: leaseOf,
    ...postgresDeliveries(context),
    ...postgresDeadLetters(context),
    ...postgresStates(context),
    ...upkeep,
    // The heartbeat also settles the transactions whose COMMIT went unanswered.
    async touch(now) {
      await upkeep.touch(now);
      await settle();
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
