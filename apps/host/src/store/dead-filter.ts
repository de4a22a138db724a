import { typeRange } from "./history.js";
import type { DeadLetterFilter } from "./types.js";

/** A value bound to a statement's parameter. */
export type SqlValue = string | number;

/** What differs between the engines' SQL for a selection of dead letters. */
export interface SelectionDialect {
  /** Record `value` as the next parameter and return its placeholder: `?` (SQLite) or `$n` (Postgres). */
  bind(value: SqlValue): string;
  /** `d.action` as the engine stores it: SQLite an integer id, Postgres the name. */
  action(name: string): SqlValue;
  /** The same, for a page's position, whose action the store may never have seen (it sorts first). */
  positionAction(name: string): SqlValue;
  /**
   * What makes `e.type` compare byte by byte (a type pattern is a range: `user.*` is `user.` <= type <
   * `user/`): nothing on SQLite (BINARY), `COLLATE "C"` on Postgres, whose column takes the database's.
   */
  bytewise: string;
}

/**
 * The WHERE clauses of a selection of dead letters (`d` deliveries joined to `e` events), one SQL for both
 * engines, binding each value through `dialect` in the order the clauses come. A dead letter's time is its
 * row's `updated_at` (when it was dead-lettered).
 */
export function deadLetterClauses(filter: DeadLetterFilter, dialect: SelectionDialect): string[] {
  const { bind } = dialect;
  const clauses: string[] = [];
  if (filter.action !== undefined) clauses.push(`d.action = ${bind(dialect.action(filter.action))}`);
  if (filter.eventId !== undefined) clauses.push(`e.event_id = ${bind(filter.eventId)}`);
  if (filter.tenant !== undefined) clauses.push(`e.tenant = ${bind(filter.tenant)}`);
  // A range, not LIKE, as the history's searches do: SQLite's LIKE ignores case, so `User.*` matched there
  // and not on Postgres.
  const type = typeRange(filter.type);
  if (type && "exact" in type) clauses.push(`e.type = ${bind(type.exact)}`);
  else if (type) {
    const column = `e.type${dialect.bytewise}`;
    clauses.push(`${column} >= ${bind(type.from)} AND ${column} < ${bind(type.to)}`);
  }
  if (filter.since !== undefined) clauses.push(`d.updated_at >= ${bind(filter.since)}`);
  if (filter.until !== undefined) clauses.push(`d.updated_at < ${bind(filter.until)}`);
  if (filter.after !== undefined) {
    const { failedAt, key, action } = filter.after;
    clauses.push(
      `(d.updated_at, d.event, d.action) > (${bind(failedAt)}, ${bind(key)}, ${bind(dialect.positionAction(action))})`,
    );
  }
  return clauses;
}

/** The LIMIT of a selection (none without `limit`). */
export function limitOf(filter: DeadLetterFilter): string {
  return filter.limit !== undefined ? ` LIMIT ${Math.max(0, Math.floor(filter.limit))}` : "";
}
