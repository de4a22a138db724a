// Test helper for the PostgreSQL engine: a reachable test server, and one schema per test so that tests run
// in parallel. Reused by host-level replica tests.
import { randomBytes } from "node:crypto";
import pg from "pg";

/** The test server: SWITCHYARD_TEST_POSTGRES_URL, or the local one. */
export const POSTGRES_URL =
  process.env.SWITCHYARD_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";

let reachable: Promise<boolean> | undefined;

/**
 * Whether the test server answers. Without one, tests skip with one line saying how to run them; in CI
 * (`CI=true`) a missing server is a failure, never a skip.
 */
export function postgresAvailable(): Promise<boolean> {
  reachable ??= (async () => {
    const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3000 });
    try {
      await client.connect();
      await client.query("SELECT 1");
      return true;
    } catch (error) {
      if (process.env.CI === "true") {
        throw new Error(
          `PostgreSQL is required in CI and is not reachable at ${POSTGRES_URL}: ${(error as Error).message}`,
        );
      }
      console.warn(
        `skipping PostgreSQL tests: no server at ${POSTGRES_URL} (start one, or set SWITCHYARD_TEST_POSTGRES_URL)`,
      );
      return false;
    } finally {
      await client.end().catch(() => {});
    }
  })();
  return reachable;
}

export interface TestSchema {
  /** The schema's name. */
  schema: string;
  /** The server's URL with `search_path` set to the schema (as a config's `state:` could name it). */
  url: string;
  /** Run SQL as a separate admin connection (in the schema). */
  sql<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, params?: unknown[]): Promise<R[]>;
  /** Drop the schema and everything in it. */
  drop(): Promise<void>;
}

/** Create a uniquely named empty schema on the test server. */
export async function createTestSchema(): Promise<TestSchema> {
  const schema = `sy_test_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: POSTGRES_URL, options: `-c search_path=${schema}` });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  const url = new URL(POSTGRES_URL);
  url.searchParams.set("options", `-c search_path=${schema}`);
  return {
    schema,
    url: url.toString(),
    sql: async (text, params) => (await admin.query(text, params)).rows,
    async drop() {
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    },
  };
}
