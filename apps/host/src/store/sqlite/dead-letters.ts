// The SQLite store's dead letters: list, count, replay, purge, and those a newer event superseded.
import { deadLetterClauses, limitOf, type SqlValue } from "../dead-filter.js";
import { eventTimeMs, isNewer } from "../latest.js";
import { DEAD_LETTER_COLUMNS, type DeadLetterRow, deadLetterOf } from "../rows.js";
import type { DeadLetterFilter, StateStore, SupersededDeadLetter } from "../types.js";
import { DEAD, PENDING, type SqliteContext, type Synchronous } from "./context.js";

export type SqliteDeadLetters = Synchronous<
  Pick<StateStore, "listDead" | "countDead" | "replayDead" | "supersededDead" | "purgeDead" | "purgeAction">
>;

export function sqliteDeadLetters({ db, actions }: SqliteContext): SqliteDeadLetters {
  // The matching dead letters' WHERE clause (dead-filter.ts), its parameters and LIMIT.
  const deadWhere = (filter: DeadLetterFilter = {}, except: readonly SupersededDeadLetter[] = []) => {
    const clauses = [`d.status = ${DEAD}`];
    const params: SqlValue[] = [];
    const bind = (value: SqlValue) => {
      params.push(value);
      return "?";
    };
    if (except.length > 0) {
      const pairs = except.map((s) => `(${bind(actions.id(s.action))}, ${bind(s.key)})`);
      clauses.push(`(d.action, d.event) NOT IN (VALUES ${pairs.join(", ")})`);
    }
    clauses.push(
      ...deadLetterClauses(filter, {
        bind,
        action: actions.id,
        // An action this store never saw sorts before all (ids start at 1).
        positionAction: (name) => actions.find(name) ?? 0,
        bytewise: "",
      }),
    );
    return { where: clauses.join(" AND "), params, limit: limitOf(filter) };
  };
  // The (action, event) pairs of the matching dead letters, oldest first.
  const deadKeys = (filter: DeadLetterFilter, except?: readonly SupersededDeadLetter[]) => {
    const { where, params, limit } = deadWhere(filter, except);
    return {
      sql: `SELECT d.action, d.event FROM deliveries d JOIN events e ON e.id = d.event WHERE ${where} ORDER BY d.updated_at, d.event, d.action${limit}`,
      params,
    };
  };

  return {
    listDead(filter) {
      const { where, params, limit } = deadWhere(filter);
      const rows = db
        .prepare<Array<string | number>, DeadLetterRow & { action: number }>(
          `SELECT d.action, ${DEAD_LETTER_COLUMNS}
           FROM deliveries d JOIN events e ON e.id = d.event WHERE ${where} ORDER BY d.updated_at, d.event, d.action${limit}`,
        )
        .all(...params);
      return rows.map((row) => deadLetterOf(actions.name(row.action), row));
    },
    countDead(filter) {
      const { sql, params } = deadKeys({ ...filter });
      return db
        .prepare<Array<string | number>, { n: number }>(`SELECT count(*) AS n FROM (${sql})`)
        .get(...params)!.n;
    },
    replayDead(filter, now, superseded) {
      const { sql, params } = deadKeys(filter, superseded);
      return db
        .prepare(
          `UPDATE deliveries SET status = ${PENDING}, attempts_before = attempts_before + attempts, attempts = 0,
             due_at = ?, updated_at = ?
           WHERE (action, event) IN (${sql})`,
        )
        .run(now, now, ...params).changes;
    },
    supersededDead(filter) {
      const { where, params, limit } = deadWhere(filter);
      const rows = db
        .prepare<
          Array<string | number>,
          {
            action: number;
            tenant: string;
            event_id: string;
            time: string;
            event: number;
            mark_time: number;
            mark_event: number;
          }
        >(
          `SELECT d.action, e.tenant, e.event_id, e.time, d.event, l.time AS mark_time, l.event AS mark_event
           FROM deliveries d JOIN events e ON e.id = d.event
             JOIN latest l ON l.action = d.action AND l.subject = d.order_key
           WHERE ${where} ORDER BY d.updated_at, d.event, d.action${limit}`,
        )
        .all(...params);
      const eventIdOf = db.prepare<[number], { event_id: string }>(
        "SELECT event_id FROM events WHERE id = ?",
      );
      return rows.flatMap((row): SupersededDeadLetter[] => {
        const time = eventTimeMs(row.time);
        if (time === undefined || !isNewer({ time: row.mark_time, key: row.mark_event }, time, row.event))
          return [];
        return [
          {
            action: actions.name(row.action),
            tenant: row.tenant,
            eventId: row.event_id,
            key: row.event,
            newerEventId: eventIdOf.get(row.mark_event)?.event_id,
            newerTime: new Date(row.mark_time).toISOString(),
          },
        ];
      });
    },
    purgeDead(filter) {
      const { sql, params } = deadKeys(filter);
      return db.prepare(`DELETE FROM deliveries WHERE (action, event) IN (${sql})`).run(...params).changes;
    },
    purgeAction(action) {
      const id = actions.find(action);
      if (id === undefined) return 0;
      return db.prepare(`DELETE FROM deliveries WHERE action = ? AND status IN (${PENDING}, ${DEAD})`).run(id)
        .changes;
    },
  };
}
