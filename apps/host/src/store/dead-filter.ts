import type { DeadLetterFilter } from "./types.js";

/** SQL for an event type pattern: `*` (no clause), `prefix.*` (LIKE, any depth) or an exact type. */
export function typeClause(pattern: string | undefined): { op: "=" | "LIKE"; value: string } | undefined {
  if (pattern === undefined || pattern === "*") return undefined;
  if (pattern.endsWith(".*")) {
    return { op: "LIKE", value: `${pattern.slice(0, -1).replace(/[%_\\]/g, "\\$&")}%` };
  }
  return { op: "=", value: pattern };
}

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
  /** What follows `LIKE ?` so that `\` escapes `%` and `_` (Postgres's default; SQLite needs `ESCAPE`). */
  likeEscape: string;
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
  const type = typeClause(filter.type);
  if (type) {
    clauses.push(
      type.op === "LIKE"
        ? `e.type LIKE ${bind(type.value)}${dialect.likeEscape}`
        : `e.type = ${bind(type.value)}`,
    );
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
