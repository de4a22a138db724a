import mysql from "mysql2/promise";
import {
  createStatements,
  type Database,
  type Dialect,
  expectedColumns,
  qualified,
  splitTable,
} from "./database.js";
import type { Change, Entity } from "./entities.js";

const dialect: Dialect = {
  quote: (identifier) => `\`${identifier}\``,
  // Keys and versions compare byte by byte: Auth0 ids are case-sensitive, and so is the order of versions.
  types: {
    key: "VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
    text: "TEXT",
    json: "JSON",
    time: "DATETIME(3)",
    version: "VARCHAR(160) CHARACTER SET ascii COLLATE ascii_bin",
    flag: "BOOLEAN",
  },
  tableSuffix: " CHARACTER SET utf8mb4",
};

/** One statement on one connection, bounded by the plugin's `queryTimeoutMs`. */
type Run = <T extends mysql.QueryResult>(
  sql: string,
  values?: mysql.QueryValues,
) => Promise<[T, mysql.FieldPacket[]]>;

/** MySQL or MariaDB through a `mysql2` pool. */
export function mysqlDatabase(url: string, poolSize: number, queryTimeoutMs: number): Database {
  const pool = mysql.createPool({
    uri: url.replace(/^mariadb:/, "mysql:"),
    connectionLimit: poolSize,
    // Times are written and read as UTC, whatever the server's zone.
    timezone: "Z",
    connectTimeout: 10_000,
    enableKeepAlive: true,
    keepAliveInitialDelay: 10_000,
  });
  const q = dialect.quote;

  /**
   * `work` on a connection of the pool, each statement bounded by `queryTimeoutMs`. A connection whose work
   * failed is closed, not returned: after a timeout its statement may still be pending on it (a connection the
   * network forgot answers nothing), and the server rolls back the transaction of a closed connection.
   */
  async function withConnection<T>(work: (run: Run) => Promise<T>): Promise<T> {
    const connection = await pool.getConnection();
    const run: Run = (sql, values) => connection.query({ sql, timeout: queryTimeoutMs }, values);
    let result: T;
    try {
      result = await work(run);
    } catch (error) {
      connection.destroy();
      throw error;
    }
    connection.release();
    return result;
  }

  return {
    engine: "mysql",
    ensure: (entity) =>
      withConnection(async (run) => {
        for (const statement of createStatements(dialect, entity)) await run(statement);
        const { schema, name } = splitTable(entity.table);
        const [rows] = await run<mysql.RowDataPacket[]>(
          "SELECT column_name AS name FROM information_schema.columns WHERE table_schema = COALESCE(?, DATABASE()) AND table_name = ?",
          [schema ?? null, name],
        );
        const have = new Set(rows.map((row) => String(row.name)));
        return expectedColumns(entity).filter((column) => !have.has(column));
      }),

    apply: (entity, changes, softDelete) =>
      withConnection(async (run) => {
        await run("START TRANSACTION");
        const table = qualified(dialect, entity.table);
        const applied = qualified(dialect, entity.table, "_applied");
        const keys = entity.keys.map(q).join(", ");
        // `deleted` is set before `version`: MySQL's later assignments see the earlier ones' new values.
        await run(
          `INSERT INTO ${applied} (${keys}, version, deleted) VALUES ?
           ON DUPLICATE KEY UPDATE deleted = IF(VALUES(version) > version, VALUES(deleted), deleted),
           version = GREATEST(version, VALUES(version))`,
          [changes.map((change) => [...change.key, change.version, change.op === "delete"])],
        );
        // The rows are locked by this transaction now: read which keys hold this batch's versions.
        const [rows] = await run<mysql.RowDataPacket[]>(
          `SELECT ${keys}, version FROM ${applied} WHERE (${keys}) IN (?)`,
          [changes.map((change) => change.key)],
        );
        const current = new Map(
          rows.map((row) => [entity.keys.map((key) => row[key]).join("\u0000"), row.version]),
        );
        const won = changes.filter((change) => current.get(change.key.join("\u0000")) === change.version);
        await writeRows(run, entity, table, won, softDelete);
        await run("COMMIT");
      }),

    close: () => pool.end(),
  };

  async function writeRows(run: Run, entity: Entity, table: string, won: Change[], softDelete: boolean) {
    const keys = entity.keys.map(q).join(", ");
    const upserts = won.filter((change) => change.op === "upsert");
    if (upserts.length > 0) {
      const columns = [...entity.columns.map((column) => column.name), "deleted_at"].map(q);
      const updates = columns
        .filter((_, index) => index >= entity.keys.length)
        .map((c) => `${c} = VALUES(${c})`);
      await run(
        `INSERT INTO ${table} (${columns.join(", ")}) VALUES ? ON DUPLICATE KEY UPDATE ${updates.join(", ")}`,
        [upserts.map((change) => [...change.values, null])],
      );
    }
    const deletes = won.filter((change) => change.op === "delete");
    if (deletes.length === 0) return;
    if (!softDelete) {
      await run(`DELETE FROM ${table} WHERE (${keys}) IN (?)`, [deletes.map((change) => change.key)]);
      return;
    }
    const match = entity.keys.map((key) => `${q(key)} = ?`).join(" AND ");
    for (const change of deletes) {
      await run(`UPDATE ${table} SET deleted_at = ?, event_time = ?, event_id = ? WHERE ${match}`, [
        change.eventTime,
        change.eventTime,
        change.eventId,
        ...change.key,
      ]);
    }
  }
}
