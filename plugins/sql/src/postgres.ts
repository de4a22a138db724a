import { createHash } from "node:crypto";
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

/**
 * PostgreSQL through a `pg` pool. A statement unanswered for `queryTimeoutMs` fails, and its connection is
 * dropped (the pool drops a client released with an error): a connection the network forgot would otherwise
 * hold its place in the pool for good.
 */
export function postgresDatabase(
  url: string,
  poolSize: number,
  batchSize: number,
  queryTimeoutMs: number,
): Database {
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    connectionTimeoutMillis: 10_000,
    query_timeout: queryTimeoutMs,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  });
  // An idle connection the server closed: the pool drops it; without a listener it would crash the host.
  pool.on("error", () => {});
  const q = dialect.quote;
  const statements = new Map<string, { name: string; text: string; rows: number; width: number }>();

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
    const { name, text, rows, width } = upsertStatement(entity, changes.length);
    const params: unknown[] = [];
    for (const change of changes) {
      // An ISO string costs pg far less to send than a Date (which it formats in the local zone, field by field).
      for (const value of change.values) params.push(value instanceof Date ? value.toISOString() : value);
      params.push(change.version);
    }
    // The padding rows are all NULL: the statement skips them before it writes anything.
    while (params.length < rows * width) params.push(null);
    await pool.query({ name, text, values: params });
  }

  /**
   * The upsert statement for a batch of `count` changes, made once per size and prepared on each connection:
   * PostgreSQL then parses and plans it once per connection instead of once per batch (measured: about a
   * quarter of the server's CPU per upsert, docs/performance.md). Sizes are rounded up to a power of two (at
   * most `batchSize`), so that a connection holds a handful of prepared statements per table, not one per size.
   */
  function upsertStatement(entity: Entity, count: number) {
    let rows = 1;
    while (rows < count) rows *= 2;
    rows = Math.min(rows, Math.max(batchSize, count));
    const id = `${entity.kind} ${rows}`;
    const known = statements.get(id);
    if (known) return known;
    const keys = entity.keys.map(q).join(", ");
    const columns = entity.columns.map((column) => q(column.name));
    const casts = [...entity.columns.map((column) => CASTS[column.type]), "text"];
    const width = casts.length;
    const values = Array.from({ length: rows }, (_, row) => {
      const marks = casts.map((cast, index) => `$${row * width + index + 1}::${cast}`);
      return `(${marks.join(", ")})`;
    });
    const updates = columns.slice(entity.keys.length).map((c) => `${c} = EXCLUDED.${c}`);
    const text = `WITH v (${columns.join(", ")}, "version") AS (VALUES ${values.join(", ")}),
       won AS (
         INSERT INTO ${qualified(dialect, entity.table, "_applied")} AS a (${keys}, "version", "deleted")
         SELECT ${keys}, "version", false FROM v WHERE v.${q(entity.keys[0] as string)} IS NOT NULL
         ON CONFLICT (${keys}) DO UPDATE SET "version" = EXCLUDED."version", "deleted" = EXCLUDED."deleted"
         WHERE a."version" < EXCLUDED."version" RETURNING ${keys})
       INSERT INTO ${qualified(dialect, entity.table)} (${columns.join(", ")}, "deleted_at")
       SELECT ${columns.map((c) => `v.${c}`).join(", ")}, NULL FROM v JOIN won USING (${keys})
       ON CONFLICT (${keys}) DO UPDATE SET ${updates.join(", ")}, "deleted_at" = NULL`;
    // The name is the text's digest: a statement is never prepared under a name another text already holds.
    const name = `switchyard_sql_${createHash("sha256").update(text).digest("hex").slice(0, 32)}`;
    const statement = { name, text, rows, width };
    statements.set(id, statement);
    return statement;
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
