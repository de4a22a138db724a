import type { Change, Column, Entity } from "./entities.js";

/** One engine behind the plugin: PostgreSQL (`pg`) or MySQL/MariaDB (`mysql2`). */
export interface Database {
  /** `postgres` or `mysql`, for messages. */
  readonly engine: string;
  /** Create the entity's tables when missing; answer the columns an existing table lacks. */
  ensure(entity: Entity): Promise<string[]>;
  /**
   * Apply `changes` (at most one per key, sorted by key) in one transaction. Each change is first recorded in
   * `<table>_applied` with a guard in the statement itself (only over an older version), which also locks
   * the key's row until commit; only the changes that won are then written to the table.
   */
  apply(entity: Entity, changes: Change[], softDelete: boolean): Promise<void>;
  close(): Promise<void>;
}

/** What an engine's DDL needs: its quoting and its column types. */
export interface Dialect {
  quote(identifier: string): string;
  types: Record<Column["type"] | "version" | "flag", string>;
  tableSuffix: string;
}

/** `schema.table` quoted part by part; `suffix` added to the table's own name. */
export function qualified(dialect: Dialect, table: string, suffix = ""): string {
  const parts = table.split(".");
  parts[parts.length - 1] += suffix;
  return parts.map((part) => dialect.quote(part)).join(".");
}

/** The two tables of an entity: its rows, and the version (and deletion) last applied to each key. */
export function createStatements(dialect: Dialect, entity: Entity): string[] {
  const q = dialect.quote;
  const keys = entity.keys.map(q).join(", ");
  const columns = entity.columns.map((column) => {
    const nullable = column.type === "text" ? "" : " NOT NULL";
    return `${q(column.name)} ${dialect.types[column.type]}${nullable}`;
  });
  const keyColumns = entity.keys.map((key) => `${q(key)} ${dialect.types.key} NOT NULL`);
  return [
    `CREATE TABLE IF NOT EXISTS ${qualified(dialect, entity.table)} (${columns.join(", ")}, ${q("deleted_at")} ${dialect.types.time} NULL, PRIMARY KEY (${keys}))${dialect.tableSuffix}`,
    `CREATE TABLE IF NOT EXISTS ${qualified(dialect, entity.table, "_applied")} (${keyColumns.join(", ")}, ${q("version")} ${dialect.types.version} NOT NULL, ${q("deleted")} ${dialect.types.flag} NOT NULL, PRIMARY KEY (${keys}))${dialect.tableSuffix}`,
  ];
}

/** Every column a table of `entity` must have. */
export function expectedColumns(entity: Entity): string[] {
  return [...entity.columns.map((column) => column.name), "deleted_at"];
}

/** The schema part of `schema.table`, if any, and the table's own name. */
export function splitTable(table: string): { schema: string | undefined; name: string } {
  const parts = table.split(".");
  return parts.length === 2
    ? { schema: parts[0], name: parts[1] as string }
    : { schema: undefined, name: table };
}
