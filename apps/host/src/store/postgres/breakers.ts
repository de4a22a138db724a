// The breakers' states on PostgreSQL (the BreakerStore part of the contract; see types.ts).
import type { BreakerRecord, BreakerStore } from "../types.js";
import type { Query } from "./context.js";

/** A replica alive: its liveness (`touch`, by the database's clock) has not expired. */
const ALIVE = "SELECT id FROM replicas WHERE expires_at > clock_timestamp()";

/** The breaker methods over the store's pool. */
export function postgresBreakers(query: Query): BreakerStore {
  return {
    async setBreaker(record) {
      if (record.state === "closed") {
        await query("DELETE FROM breakers WHERE action = $1 AND replica = $2", [
          record.action,
          record.replica,
        ]);
        return;
      }
      await query(
        `INSERT INTO breakers (action, replica, state, since, until) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (action, replica) DO UPDATE SET state = excluded.state, since = excluded.since, until = excluded.until`,
        [record.action, record.replica, record.state, record.since, record.until ?? null],
      );
    },
    async breakers() {
      const { rows } = await query<{
        action: string;
        replica: string;
        state: BreakerRecord["state"];
        since: string;
        until: string | null;
      }>(
        `SELECT action, replica, state, since, until FROM breakers
         WHERE replica IN (${ALIVE}) ORDER BY action, replica`,
      );
      return rows.map(({ since, until, ...row }) => ({
        ...row,
        since: Number(since),
        ...(until !== null ? { until: Number(until) } : {}),
      }));
    },
    async resetBreakers(replica) {
      await query(`DELETE FROM breakers WHERE replica = $1 OR replica NOT IN (${ALIVE})`, [replica]);
    },
  };
}
