// The SQLite store's upkeep: its stats, the unfinished count, pruning, the heartbeat and closing.
import type { StateStore, StoreStats } from "../types.js";
import { DEAD, IN_FLIGHT, PENDING, type SqliteContext, type Synchronous } from "./context.js";

export type SqliteUpkeep = Synchronous<
  Pick<StateStore, "countUnfinished" | "stats" | "prune" | "touch" | "close">
> & {
  /** Copy the WAL's pages into the database file now, as far as no reader holds them (PASSIVE). */
  checkpoint(): void;
  /** Write a consistent copy of the database, as this connection sees it, to the new file `target`. */
  saveCopy(target: string): void;
  /** Copy every page of the WAL into the database file, waiting for readers; false when some stayed. */
  checkpointAll(): boolean;
};

export function sqliteUpkeep({ db, actions, meta }: SqliteContext): SqliteUpkeep {
  const minUnfinished = db.prepare<[number], { event: number | null }>(
    `SELECT min(event) AS event FROM deliveries WHERE action = ? AND status IN (${PENDING}, ${IN_FLIGHT})`,
  );

  type StatsRow = { action: number; status: number; n: number };
  const selectStats = db.prepare<[], StatsRow>(
    "SELECT action, status, count(*) AS n FROM deliveries GROUP BY action, status",
  );
  // One tenant's: each delivery's event by its key (events name their tenant, `default` too). Without
  // statistics SQLite reads every delivery, as the query above does, and looks each event up; once
  // `PRAGMA optimize` has analysed the tables (history.ts), it plans per tenant, and a tenant with few events
  // is read through the (tenant, event_id) index instead, each event's deliveries found by a skip-scan of
  // their (action, event) key. No index of deliveries by event: it would cost every row's write.
  const selectTenantStats = db.prepare<[string], StatsRow>(
    `SELECT d.action, d.status, count(*) AS n FROM deliveries d JOIN events e ON e.id = d.event
     WHERE e.tenant = ? GROUP BY d.action, d.status`,
  );

  return {
    countUnfinished() {
      return (
        db
          .prepare<[], { n: number }>(
            `SELECT count(*) AS n FROM deliveries WHERE status IN (${PENDING}, ${IN_FLIGHT})`,
          )
          .get()?.n ?? 0
      );
    },
    stats(tenant) {
      const rows = tenant === undefined ? selectStats.all() : selectTenantStats.all(tenant);
      const stats: StoreStats = { pending: {}, dead: {} };
      for (const row of rows) {
        const name = actions.name(row.action);
        const bucket = row.status === DEAD ? stats.dead : stats.pending;
        bucket[name] = (bucket[name] ?? 0) + row.n;
      }
      return stats;
    },
    prune(now, dedupeWindowMs, keepPayloadsMs = 0) {
      // Events below the lowest unfinished delivery are finished (unless dead-lettered): their payloads can
      // go (once `keepPayloadsMs` old), and their ids too once they are older than the dedupe window and
      // `keepPayloadsMs`. Deliveries are keyed (action, event), so the lowest unfinished event is one cheap
      // lookup per action. Claims above a watermark may still need their payloads (`recover`).
      const newest = db.prepare<[], { id: number | null }>("SELECT max(id) AS id FROM events").get()?.id ?? 0;
      let lowest = newest + 1;
      for (const { id } of db.prepare<[], { id: number }>("SELECT id FROM actions").all()) {
        const row = minUnfinished.get(id);
        if (row?.event != null) lowest = Math.min(lowest, row.event);
      }
      const mark = db.prepare<[], { upto: number | null }>("SELECT min(upto) AS upto FROM watermarks").get();
      if (mark?.upto != null) lowest = Math.min(lowest, mark.upto + 1);
      // Payloads still kept for the event page: those received since the cutoff (keys grow with time).
      let payloadsBelow = lowest;
      if (keepPayloadsMs > 0) {
        const kept = db
          .prepare<[number], { id: number }>(
            "SELECT id FROM events WHERE received_at >= ? ORDER BY received_at LIMIT 1",
          )
          .get(now - keepPayloadsMs);
        if (kept) payloadsBelow = Math.min(payloadsBelow, kept.id);
      }
      const from = Number(meta.get("pruned_upto") ?? 0);
      const notDead = "NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event = events.id AND d.status = 3)";
      db.prepare(
        `UPDATE events SET payload = NULL WHERE id > ? AND id < ? AND payload IS NOT NULL AND ${notDead}`,
      ).run(from, payloadsBelow);
      meta.set("pruned_upto", String(Math.max(from, payloadsBelow - 1)));
      // The newest event is kept, so that keys keep growing (SQLite reuses the largest key once deleted),
      // which watermarks rely on. So is every event the history still has attempts of (an attempt retried
      // an hour after its event came outlives the event by that hour): a search by event id finds its
      // attempts through the event's key (history.ts).
      const attempted = db
        .prepare<[], { key: number | null }>("SELECT min(event_key) AS key FROM attempts")
        .get()?.key;
      db.prepare(`DELETE FROM events WHERE received_at < ? AND id < ? AND ${notDead}`).run(
        now - Math.max(dedupeWindowMs, keepPayloadsMs),
        Math.min(lowest, newest, attempted ?? newest),
      );
      db.prepare("DELETE FROM cache WHERE expires_at <= ?").run(now);
    },
    touch(now) {
      meta.set("heartbeat", String(now));
    },
    checkpoint() {
      db.pragma("wal_checkpoint(PASSIVE)");
    },
    saveCopy(target) {
      db.prepare("VACUUM INTO ?").run(target);
    },
    checkpointAll() {
      const [result] = db.pragma("wal_checkpoint(FULL)") as Array<{
        busy: number;
        log: number;
        checkpointed: number;
      }>;
      return result !== undefined && result.busy === 0 && result.checkpointed === result.log;
    },
    close() {
      db.close();
    },
  };
}
