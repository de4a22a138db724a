// The Postgres store's upkeep: its stats, the unfinished count, pruning, this replica's liveness (`touch`)
// and closing.
import type { StateStore, StoreStats } from "../types.js";
import { DEAD, IN_FLIGHT, PENDING, type PostgresContext } from "./context.js";

export type PostgresUpkeep = Pick<StateStore, "countUnfinished" | "stats" | "prune" | "touch" | "close">;

/** `replicaTtlMs`: how long this replica counts as alive after a `touch`. */
export function postgresUpkeep(
  { pool, query, replicaId, leadership }: PostgresContext,
  replicaTtlMs: number,
): PostgresUpkeep {
  const touch = async () => {
    await query(
      `INSERT INTO replicas (id, expires_at) VALUES ($1, clock_timestamp() + $2 * interval '1 millisecond')
       ON CONFLICT (id) DO UPDATE SET expires_at = excluded.expires_at`,
      [replicaId, replicaTtlMs],
    );
  };
  let closed = false;
  return {
    async countUnfinished() {
      const { rows } = await query<{ n: number }>(
        `SELECT count(*)::integer AS n FROM deliveries WHERE status IN (${PENDING}, ${IN_FLIGHT})`,
      );
      return rows[0]?.n ?? 0;
    },

    async stats(tenant) {
      // One tenant's: each delivery's event by its key (events name their tenant, `default` too). The planner
      // reads a tenant with few events through the (tenant, event_id) index and their deliveries through
      // deliveries_event, a large one by a hash join.
      const { rows } = await query<{ action: string; status: number; n: number }>(
        tenant === undefined
          ? "SELECT action, status, count(*)::integer AS n FROM deliveries GROUP BY action, status"
          : `SELECT d.action, d.status, count(*)::integer AS n FROM deliveries d JOIN events e ON e.id = d.event
             WHERE e.tenant = $1 GROUP BY d.action, d.status`,
        tenant === undefined ? [] : [tenant],
      );
      const stats: StoreStats = { pending: {}, dead: {} };
      for (const row of rows) {
        const bucket = row.status === DEAD ? stats.dead : stats.pending;
        bucket[row.action] = (bucket[row.action] ?? 0) + row.n;
      }
      return stats;
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
}
