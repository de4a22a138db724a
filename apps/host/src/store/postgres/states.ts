// The Postgres store's per-action states: paused or not, the actions' caches, the latest-wins marks and the
// breakers (breakers.ts).
import type { CacheRecord } from "@switchyard/core";
import { actionStateOf, actionStateRow } from "../action-state.js";
import type { BreakerStore, StateStore } from "../types.js";
import { postgresBreakers } from "./breakers.js";
import type { PostgresContext } from "./context.js";

export type PostgresStates = Pick<
  StateStore,
  "actionStates" | "setActionState" | "loadCache" | "saveCache" | "removeCache" | "latestDelivered"
> &
  BreakerStore;

export function postgresStates({ query }: PostgresContext): PostgresStates {
  return {
    ...postgresBreakers(query),
    async latestDelivered(action, subject) {
      const { rows } = await query<{ time: string; event: string }>(
        "SELECT time, event FROM latest WHERE action = $1 AND subject = $2",
        [action, subject],
      );
      const row = rows[0];
      return row ? { time: Number(row.time), key: Number(row.event) } : undefined;
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
  };
}
