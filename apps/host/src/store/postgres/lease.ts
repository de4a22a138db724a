import type pg from "pg";
import { DEFAULT_TENANT } from "../../tenants.js";
import type { Leadership } from "../types.js";

/** Raised by `ingest` when this replica no longer holds the stream lease: nothing was committed. */
export class FencedError extends Error {
  readonly code = "SWITCHYARD_FENCED";
  constructor(replicaId: string) {
    super(`[switchyard] [postgres] replica ${replicaId} does not hold the stream lease: ingest refused`);
    this.name = "FencedError";
  }
}

/**
 * A tenant's stream lease: one row per tenant, taken when free, expired or already ours, by the database's
 * clock. The token grows on every takeover, so a leader that was paused and came back can tell (in `fence`)
 * that someone else led in between, even if it got the lease back since.
 *
 * Leases spread over the replicas: a replica does not take a further free lease while another live replica
 * leads fewer streams, unless the lease has been free for a whole lease period (that replica is not taking
 * it: its config may not read this tenant, or it is gone). And a replica that leads two or more streams
 * more than another live replica gives one up (`shouldYield`), which the other then takes.
 */
export class StreamLease implements Leadership {
  private token: string | undefined;
  private created = false;

  constructor(
    private readonly pool: pg.Pool,
    readonly replicaId: string,
    readonly leaseMs: number,
    readonly tenant: string = DEFAULT_TENANT,
  ) {}

  async acquire(): Promise<boolean> {
    if (!this.created) {
      // Free from now: the first lease period of a new tenant's stream goes to a replica that leads fewest.
      await this.pool.query(
        "INSERT INTO stream_lease (tenant, expires_at) VALUES ($1, clock_timestamp()) ON CONFLICT (tenant) DO NOTHING",
        [this.tenant],
      );
      this.created = true;
    }
    const { rows } = await this.pool.query<{ token: string }>(
      `UPDATE stream_lease SET
         token = CASE WHEN holder = $1 AND expires_at > clock_timestamp() THEN token ELSE token + 1 END,
         holder = $1,
         expires_at = clock_timestamp() + $2 * interval '1 millisecond'
       WHERE tenant = $3 AND (
         (holder = $1 AND expires_at > clock_timestamp())
         OR (
           (holder IS NULL OR expires_at <= clock_timestamp()) AND (
             expires_at <= clock_timestamp() - $2 * interval '1 millisecond'
             OR (SELECT count(*) FROM stream_lease WHERE holder = $1 AND expires_at > clock_timestamp())
               <= ALL (${LEASES_OF_OTHERS})
           )
         )
       )
       RETURNING token`,
      [this.replicaId, this.leaseMs, this.tenant],
    );
    this.token = rows[0]?.token;
    return this.token !== undefined;
  }

  async release(): Promise<void> {
    this.token = undefined;
    // Free from now: for a lease period, only a replica that leads no more streams than the others takes it.
    await this.pool.query(
      "UPDATE stream_lease SET expires_at = clock_timestamp() WHERE tenant = $1 AND holder = $2",
      [this.tenant, this.replicaId],
    );
  }

  async leader(): Promise<string | undefined> {
    const { rows } = await this.pool.query<{ holder: string | null }>(
      "SELECT holder FROM stream_lease WHERE tenant = $1 AND expires_at > clock_timestamp()",
      [this.tenant],
    );
    return rows[0]?.holder ?? undefined;
  }

  async peers(): Promise<number> {
    const { rows } = await this.pool.query<{ peers: number }>(
      "SELECT count(*)::int AS peers FROM replicas WHERE id <> $1 AND expires_at > clock_timestamp()",
      [this.replicaId],
    );
    return rows[0]?.peers ?? 0;
  }

  /**
   * Whether this replica, leading this tenant's stream, should give it up so that the streams spread: it
   * leads at least two more than another live replica, and this is the last (by name) of its tenants.
   */
  async shouldYield(): Promise<boolean> {
    const { rows } = await this.pool.query<{ yield: boolean | null }>(
      `WITH mine AS (SELECT tenant FROM stream_lease WHERE holder = $1 AND expires_at > clock_timestamp())
       SELECT (SELECT count(*) FROM mine) - (SELECT min(n) FROM (${LEASES_OF_OTHERS}) AS others(n)) >= 2
         AND $2 = (SELECT max(tenant) FROM mine) AS yield`,
      [this.replicaId, this.tenant],
    );
    return rows[0]?.yield === true;
  }

  /**
   * Inside an ingest transaction, before any write: lock the lease row (a takeover waits for this commit, and
   * this check waits for a takeover) and refuse unless it is ours, with our token, and unexpired.
   */
  async fence(client: pg.PoolClient): Promise<void> {
    const { rows } = await client.query<{ ours: boolean }>(
      `SELECT holder = $1 AND token = $2 AND expires_at > clock_timestamp() AS ours
       FROM stream_lease WHERE tenant = $3 FOR UPDATE`,
      [this.replicaId, this.token ?? "-1", this.tenant],
    );
    if (rows[0]?.ours !== true) throw new FencedError(this.replicaId);
  }
}

/** How many streams each other live replica leads ($1: this replica), one row per replica. */
const LEASES_OF_OTHERS = `SELECT count(l.tenant) FROM replicas r
  LEFT JOIN stream_lease l ON l.holder = r.id AND l.expires_at > clock_timestamp()
  WHERE r.id <> $1 AND r.expires_at > clock_timestamp() GROUP BY r.id`;
