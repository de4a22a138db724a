import pg from "pg";
import {
  createStatements,
  type Database,
  type Dialect,
  expectedColumns,
  qualified,
  splitTable,
} from "./database.js";
import type { Change, Column, Entity } from "./entities.js";

const dialect: Dialect = {
  quote: (identifier) => `"${identifier}"`,
  // The version is compared byte by byte ("C"), whatever the database's collation.
  types: {
    key: "text",
    text: "text",
    json: "jsonb",
    time: "timestamptz",
    version: 'text COLLATE "C"',
    flag: "boolean",
  },
  tableSuffix: "",
};

/** PostgreSQL through a `pg` pool. */
export function postgresDatabase(url: string, poolSize: number): Database {
  const pool = new pg.Pool({ connectionString: url, max: poolSize, connectionTimeoutMillis: 10_000 });
  // An idle connection the server closed: the pool drops it; without a listener it would crash the host.
  pool.on("error", () => {});
  const q = dialect.quote;

  return {
    engine: "postgres",
    async ensure(entity) {
      for (const statement of createStatements(dialect, entity)) {
        try {
          await pool.query(statement);
        } catch (error) {
          // Two replicas creating the same table at once: the loser's error says it exists now.
          const code = (error as { code?: string }).code;
          if (code !== "23505" && code !== "42P07") throw error;
        }
      }
      const { schema, name } = splitTable(entity.table);
      const found = await pool.query<{ column_name: string }>(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = COALESCE($1, current_schema()) AND table_name = $2",
        [schema ?? null, name],
      );
      const have = new Set(found.rows.map((row) => row.column_name));
      return expectedColumns(entity).filter((column) => !have.has(column));
    },

    async apply(entity, changes, softDelete) {
      // Upserts alone go in one statement; a delete needs a statement of its own after the guard (below).
      if (changes.every((change) => change.op === "upsert")) return upsertInOneStatement(entity, changes);
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        await client.query("BEGIN");
        const advanced = await recordVersions(client, entity, changes);
        const won = changes.filter((change) => advanced.has(change.key.join("\u0000")));
        await writeRows(client, entity, won, softDelete);
        await client.query("COMMIT");
      } catch (error) {
        await client.query("ROLLBACK").catch((rollback: Error) => {
          broken = rollback;
        });
        throw error;
      } finally {
        client.release(broken);
      }
    },

    close: () => pool.end(),
  };

  /**
   * The guard and the upserts in one statement (one round trip, its own transaction): the rows the guarded
   * INSERT into `_applied` returns are the changes that won, and only those reach the table. A delete cannot
   * ride along: every part of a statement reads one snapshot, so a DELETE there could miss a row that a
   * concurrent, older upsert committed while this statement waited for its lock; its own statement reads anew.
   */
  async function upsertInOneStatement(entity: Entity, changes: Change[]): Promise<void> {
    const keys = entity.keys.map(q).join(", ");
    const columns = [...entity.columns.map((column) => column.name)].map(q);
    const casts = [...entity.columns.map((column) => CASTS[column.type]), "text"];
    const params: unknown[] = [];
    const rows = changes.map((change) =>
      placeholders(params, [...change.values, change.version], undefined, casts),
    );
    const updates = columns.slice(entity.keys.length).map((c) => `${c} = EXCLUDED.${c}`);
    await pool.query(
      `WITH v (${columns.join(", ")}, "version") AS (VALUES ${rows.join(", ")}),
       won AS (
         INSERT INTO ${qualified(dialect, entity.table, "_applied")} AS a (${keys}, "version", "deleted")
         SELECT ${keys}, "version", false FROM v
         ON CONFLICT (${keys}) DO UPDATE SET "version" = EXCLUDED."version", "deleted" = EXCLUDED."deleted"
         WHERE a."version" < EXCLUDED."version" RETURNING ${keys})
       INSERT INTO ${qualified(dialect, entity.table)} (${columns.join(", ")}, "deleted_at")
       SELECT ${columns.map((c) => `v.${c}`).join(", ")}, NULL FROM v JOIN won USING (${keys})
       ON CONFLICT (${keys}) DO UPDATE SET ${updates.join(", ")}, "deleted_at" = NULL`,
      params,
    );
  }

  async function recordVersions(
    client: pg.PoolClient,
    entity: Entity,
    changes: Change[],
  ): Promise<Set<string>> {
    const keys = entity.keys.map(q).join(", ");
    const params: unknown[] = [];
    const rows = changes.map((change) =>
      placeholders(params, [...change.key, change.version, change.op === "delete"]),
    );
    const result = await client.query<Record<string, string>>(
      `INSERT INTO ${qualified(dialect, entity.table, "_applied")} AS a (${keys}, "version", "deleted") VALUES ${rows.join(", ")}
       ON CONFLICT (${keys}) DO UPDATE SET "version" = EXCLUDED."version", "deleted" = EXCLUDED."deleted"
       WHERE a."version" < EXCLUDED."version" RETURNING ${keys}`,
      params,
    );
    return new Set(result.rows.map((row) => entity.keys.map((key) => row[key]).join("\u0000")));
  }

  async function writeRows(client: pg.PoolClient, entity: Entity, won: Change[], softDelete: boolean) {
    const table = qualified(dialect, entity.table);
    const keys = entity.keys.map(q).join(", ");
    const upserts = won.filter((change) => change.op === "upsert");
    if (upserts.length > 0) {
      const params: unknown[] = [];
      const rows = upserts.map((change) => placeholders(params, change.values, "NULL"));
      const columns = [...entity.columns.map((column) => column.name), "deleted_at"].map(q);
      const updates = columns
        .filter((_, index) => index >= entity.keys.length)
        .map((c) => `${c} = EXCLUDED.${c}`);
      await client.query(
        `INSERT INTO ${table} (${columns.join(", ")}) VALUES ${rows.join(", ")} ON CONFLICT (${keys}) DO UPDATE SET ${updates.join(", ")}`,
        params,
      );
    }
    const deletes = won.filter((change) => change.op === "delete");
    if (deletes.length === 0) return;
    const params: unknown[] = [];
    if (softDelete) {
      const casts = [...entity.keys.map(() => "text"), "timestamptz", "text"];
      const rows = deletes.map((change) =>
        placeholders(params, [...change.key, change.eventTime, change.eventId], undefined, casts),
      );
      const match = entity.keys.map((key) => `t.${q(key)} = v.${q(key)}`).join(" AND ");
      await client.query(
        `UPDATE ${table} AS t SET "deleted_at" = v.at, "event_time" = v.at, "event_id" = v.id
         FROM (VALUES ${rows.join(", ")}) AS v(${keys}, at, id) WHERE ${match}`,
        params,
      );
    } else {
      const rows = deletes.map((change) => placeholders(params, change.key));
      await client.query(`DELETE FROM ${table} WHERE (${keys}) IN (${rows.join(", ")})`, params);
    }
  }
}

/** The type of each kind of column, for the placeholders of a VALUES list (which has no table to infer from). */
const CASTS: Record<Column["type"], string> = {
  key: "text",
  text: "text",
  json: "jsonb",
  time: "timestamptz",
};

/** `($1, $2, …)` for `values`, appended to `params`; `extra` is added as is (e.g. NULL), `casts` typed. */
function placeholders(params: unknown[], values: unknown[], extra?: string, casts?: string[]): string {
  const marks = values.map((value, index) => {
    params.push(value);
    const cast = casts?.[index];
    return cast ? `$${params.length}::${cast}` : `$${params.length}`;
  });
  if (extra) marks.push(extra);
  return `(${marks.join(", ")})`;
}
