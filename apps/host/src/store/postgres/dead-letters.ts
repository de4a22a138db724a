import { deadLetterClauses, limitOf } from "../dead-filter.js";
import type { DeadLetterFilter, SupersededDeadLetter } from "../types.js";

const DEAD = 3;

/**
 * The WHERE clause of the matching dead letters (`d` deliveries joined to `e` events), its parameters
 * ($1…), a LIMIT, and `keys`: a subquery of their (action, event) pairs, oldest first. A dead letter's time
 * is when it was dead-lettered (`updated_at`).
 */
export function deadLetterQuery(filter: DeadLetterFilter = {}, except: readonly SupersededDeadLetter[] = []) {
  const clauses = [`d.status = ${DEAD}`];
  const params: Array<string | number | string[]> = [];
  const param = (value: string | number | string[]) => {
    params.push(value);
    return `$${params.length}`;
  };
  if (except.length > 0) {
    clauses.push(
      `(d.action, e.event_id) NOT IN (SELECT * FROM unnest(${param(except.map((s) => s.action))}::text[], ${param(except.map((s) => s.eventId))}::text[]))`,
    );
  }
  clauses.push(
    ...deadLetterClauses(filter, {
      bind: param,
      action: (name) => name,
      positionAction: (name) => name,
      likeEscape: "",
    }),
  );
  const limit = limitOf(filter);
  const where = clauses.join(" AND ");
  const keys = `SELECT d.action, d.event FROM deliveries d JOIN events e ON e.id = d.event WHERE ${where} ORDER BY d.updated_at, d.event, d.action${limit}`;
  return { where, params, limit, keys };
}
