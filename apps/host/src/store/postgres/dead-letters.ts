// The Postgres store's dead letters: list, count, replay, purge, and those a newer event superseded.
import { deadLetterClauses, limitOf } from "../dead-filter.js";
import { eventTimeMs, isNewer } from "../latest.js";
import { DEAD_LETTER_COLUMNS, type DeadLetterRow, deadLetterOf } from "../rows.js";
import type { DeadLetterFilter, StateStore, SupersededDeadLetter } from "../types.js";
import { DEAD, PENDING, type PostgresContext } from "./context.js";

/**
 * The WHERE clause of the matching dead letters (`d` deliveries joined to `e` events), its parameters
 * ($1…), a LIMIT, and `keys`: a subquery of their (action, event) pairs, oldest first. A dead letter's time
 * is when it was dead-lettered (`updated_at`).
 */
export function deadLetterQuery(filter: DeadLetterFilter = {}, except: readonly SupersededDeadLetter[] = []) {
  const clauses = [`d.status = ${DEAD}`];
  const params: Array<string | number | string[] | number[]> = [];
  const param = (value: string | number | string[] | number[]) => {
    params.push(value);
    return `$${params.length}`;
  };
  if (except.length > 0) {
    clauses.push(
      `(d.action, d.event) NOT IN (SELECT * FROM unnest(${param(except.map((s) => s.action))}::text[], ${param(except.map((s) => s.key))}::bigint[]))`,
    );
  }
  clauses.push(
    ...deadLetterClauses(filter, {
      bind: param,
      action: (name) => name,
      positionAction: (name) => name,
      bytewise: ' COLLATE "C"',
    }),
  );
  const limit = limitOf(filter);
  const where = clauses.join(" AND ");
  const keys = `SELECT d.action, d.event FROM deliveries d JOIN events e ON e.id = d.event WHERE ${where} ORDER BY d.updated_at, d.event, d.action${limit}`;
  return { where, params, limit, keys };
}

export type PostgresDeadLetters = Pick<
  StateStore,
  "listDead" | "countDead" | "replayDead" | "supersededDead" | "purgeDead" | "purgeAction"
>;

export function postgresDeadLetters({ query }: PostgresContext): PostgresDeadLetters {
  return {
    async listDead(filter) {
      const { where, params, limit } = deadLetterQuery(filter);
      const { rows } = await query<DeadLetterRow & { action: string }>(
        `SELECT d.action, ${DEAD_LETTER_COLUMNS}
         FROM deliveries d JOIN events e ON e.id = d.event WHERE ${where} ORDER BY d.updated_at, d.event, d.action${limit}`,
        params,
      );
      return rows.map((row) => deadLetterOf(row.action, row));
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
        tenant: string;
        event_id: string;
        time: string;
        event: string;
        mark_time: string;
        mark_event: string;
        newer: string | null;
      }>(
        `SELECT d.action, e.tenant, e.event_id, e.time, d.event, l.time AS mark_time, l.event AS mark_event,
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
            tenant: row.tenant,
            eventId: row.event_id,
            key: Number(row.event),
            newerEventId: row.newer ?? undefined,
            newerTime: new Date(mark.time).toISOString(),
          },
        ];
      });
    },
    async purgeDead(filter) {
      const { keys, params } = deadLetterQuery(filter);
      const { rowCount } = await query(`DELETE FROM deliveries WHERE (action, event) IN (${keys})`, params);
      return rowCount ?? 0;
    },
    async purgeAction(action) {
      const { rowCount } = await query(
        `DELETE FROM deliveries WHERE action = $1 AND status IN (${PENDING}, ${DEAD})`,
        [action],
      );
      return rowCount ?? 0;
    },
  };
}
