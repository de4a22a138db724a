// What every facet of the Postgres store shares: the pool, one-statement and transaction helpers, this
// replica's id and the stream leases.
import type pg from "pg";
import type { StreamLease } from "./lease.js";

/** A delivery row's status: pending, in flight, dead (delivered rows are deleted). */
export const PENDING = 0;
export const IN_FLIGHT = 1;
export const DEAD = 3;

/** Runs one statement on any connection of the pool. */
export type Query = <R extends pg.QueryResultRow>(
  sql: string,
  params?: unknown[],
) => Promise<pg.QueryResult<R>>;
/** Runs `work` in one transaction on one connection. */
export type Transaction = <T>(work: (client: pg.PoolClient) => Promise<T>) => Promise<T>;

/** What each facet receives from `openPostgresStore`. */
export interface PostgresContext {
  pool: pg.Pool;
  query: Query;
  tx: Transaction;
  replicaId: string;
  /** The default tenant's stream lease (`leadership`). */
  leadership: StreamLease;
  /** A tenant's stream lease, made on first use. */
  leaseOf(tenant: string): StreamLease;
}
