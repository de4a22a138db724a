// The real servers the SQL plugin's tests run against, and a set of table names of each test's own (tests run
// in parallel). Without a server the tests skip with one line; in CI (`CI=true`) a missing server fails them.
import { randomBytes } from "node:crypto";
import mysql from "mysql2/promise";
import pg from "pg";

export interface TestDatabase {
  engine: "postgres" | "mariadb";
  url: string;
  /** One line telling how to run these tests. */
  howToRun: string;
}

export const DATABASES: TestDatabase[] = [
  {
    engine: "postgres",
    url: process.env.SWITCHYARD_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test",
    howToRun:
      "start PostgreSQL on 127.0.0.1:5432 (user postgres, database test), or set SWITCHYARD_TEST_POSTGRES_URL",
  },
  {
    engine: "mariadb",
    url: process.env.SWITCHYARD_TEST_MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test",
    howToRun:
      "start MariaDB or MySQL on 127.0.0.1:3306 (root, no password, database test), or set SWITCHYARD_TEST_MYSQL_URL",
  },
];

const reachable = new Map<string, Promise<boolean>>();

/** Whether the server answers (memoised); warns once with `howToRun` when it does not, throws in CI. */
export function available(database: TestDatabase): Promise<boolean> {
  let check = reachable.get(database.engine);
  if (!check) {
    check = (async () => {
      try {
        await query(database, "SELECT 1");
        return true;
      } catch (error) {
        if (process.env.CI === "true") {
          throw new Error(`${database.engine} is required in CI: ${(error as Error).message}`);
        }
        console.warn(`skipping ${database.engine} tests: ${database.howToRun}`);
        return false;
      }
    })();
    reachable.set(database.engine, check);
  }
  return check;
}

/** Run one statement on its own connection; rows as plain objects. */
export async function query(
  database: TestDatabase,
  sql: string,
  params: unknown[] = [],
): Promise<Record<string, unknown>[]> {
  if (database.engine === "postgres") {
    const client = new pg.Client({ connectionString: database.url, connectionTimeoutMillis: 3000 });
    await client.connect();
    try {
      return (await client.query(sql, params)).rows;
    } finally {
      await client.end();
    }
  }
  const connection = await mysql.createConnection({ uri: database.url, connectTimeout: 3000, timezone: "Z" });
  try {
    const [rows] = await connection.query(sql, params);
    return Array.isArray(rows) ? (rows as Record<string, unknown>[]) : [];
  } finally {
    await connection.end();
  }
}

/** Table names of one test's own, and a way to drop them all. */
export function testTables(database: TestDatabase) {
  const prefix = `sy_${randomBytes(5).toString("hex")}`;
  const names = {
    table: `${prefix}_users`,
    organizationsTable: `${prefix}_orgs`,
    membershipsTable: `${prefix}_members`,
  };
  return {
    ...names,
    async drop() {
      const all = Object.values(names).flatMap((name) => [name, `${name}_applied`]);
      for (const name of all) await query(database, `DROP TABLE IF EXISTS ${name}`);
    },
  };
}
