import type pg from "pg";
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
 * The stream lease: one row, taken when free, expired or already ours, by the database's clock. The token
 * grows on every takeover, so a leader that was paused and came back can tell (in `fence`) that someone else
 * led in between, even if it got the lease back since.
 */
export class StreamLease implements Leadership {
  private token: string | undefined;

  constructor(
    private readonly pool: pg.Pool,
    readonly replicaId: string,
    readonly leaseMs: number,
  ) {}

  async acquire(): Promise<boolean> {
    const { rows } = await this.pool.query<{ token: string }>(
      `UPDATE stream_lease SET
         token = CASE WHEN holder = $1 AND expires_at > clock_timestamp() THEN token ELSE token + 1 END,
         holder = $1,
         expires_at = clock_timestamp() + $2 * interval '1 millisecond'
       WHERE id = 1 AND (holder = $1 OR holder IS NULL OR expires_at <= clock_timestamp())
       RETURNING token`,
      [this.replicaId, this.leaseMs],
    );
    this.token = rows[0]?.token;
    return this.token !== undefined;
  }

  async release(): Promise<void> {
    this.token = undefined;
    await this.pool.query("UPDATE stream_lease SET expires_at = '-infinity' WHERE id = 1 AND holder = $1", [
      this.replicaId,
    ]);
  }

  async leader(): Promise<string | undefined> {
    const { rows } = await this.pool.query<{ holder: string | null }>(
      "SELECT holder FROM stream_lease WHERE id = 1 AND expires_at > clock_timestamp()",
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
   * Inside an ingest transaction, before any write: lock the lease row (a takeover waits for this commit, and
   * this check waits for a takeover) and refuse unless it is ours, with our token, and unexpired.
   */
  async fence(client: pg.PoolClient): Promise<void> {
    const { rows } = await client.query<{ ours: boolean }>(
      `SELECT holder = $1 AND token = $2 AND expires_at > clock_timestamp() AS ours
       FROM stream_lease WHERE id = 1 FOR UPDATE`,
      [this.replicaId, this.token ?? "-1"],
    );
    if (rows[0]?.ours !== true) throw new FencedError(this.replicaId);
  }
}
