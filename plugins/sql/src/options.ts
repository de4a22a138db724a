import { z } from "zod";

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,54}$/;
/** A table name, optionally `schema.table`; short enough that `<table>_applied` is a valid name too. */
const tableName = z
  .string()
  .refine((name) => name.split(".").length <= 2 && name.split(".").every((part) => IDENTIFIER.test(part)), {
    error: "must be a table name (letters, digits, _; at most 55 characters), optionally schema.table",
  });

/** Columns the plugin writes itself: a chosen column may not take their names. */
export const RESERVED_COLUMNS = [
  "user_id",
  "organization_id",
  "profile",
  "event_time",
  "event_id",
  "deleted_at",
] as const;

/** The options of the sql plugin; see the README for each one. */
export const sqlOptions = z.strictObject({
  url: z
    .string()
    .refine((url) => /^(postgres|postgresql|mysql|mariadb):\/\/./.test(url) && URL.canParse(url), {
      // Never echo the value: it may hold a password.
      error: (issue) =>
        issue.input === undefined ? undefined : "must be a postgres://, mysql:// or mariadb:// URL",
    })
    .describe(
      "`postgres://…` or `postgresql://…` (PostgreSQL, with `pg`), `mysql://…` or `mariadb://…` (MySQL or MariaDB, with `mysql2`); never logged",
    ),
  table: tableName.default("auth0_users").describe("the users table (`schema.table` allowed)"),
  organizationsTable: tableName
    .default("auth0_organizations")
    .describe("the organizations table, written for organization.created/updated/deleted"),
  membershipsTable: tableName
    .default("auth0_organization_members")
    .describe("the memberships table, written for organization.member.added/deleted"),
  columns: z
    .record(
      z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, { error: "must be a lower-case column name" }),
      z.string().regex(/^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/, {
        error: "must be a dotted path like data.object.email",
      }),
    )
    .refine(
      (columns) =>
        !Object.keys(columns).some((name) => (RESERVED_COLUMNS as readonly string[]).includes(name)),
      {
        error: `must not name the plugin's own columns (${RESERVED_COLUMNS.join(", ")})`,
      },
    )
    .default({})
    .describe(
      'extra text columns of the users table, each filled from a path in the event: `{ email: "data.object.email" }`',
    ),
  softDelete: z
    .boolean()
    .default(false)
    .describe("keep deleted rows with `deleted_at` set, instead of deleting them"),
  poolSize: z.number().int().min(1).max(64).default(4).describe("connections to the database (1-64)"),
  queryTimeoutMs: z
    .number()
    .int()
    .min(100)
    .max(3_600_000)
    .default(60_000)
    .describe(
      "ms a statement may go unanswered before its connection is replaced (one the network lost never answers)",
    ),
  batchSize: z
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(100)
    .describe("most changes written in one transaction (concurrent deliveries are coalesced up to this)"),
});

/** Options as written in the config. */
export type SqlOptions = z.input<typeof sqlOptions>;
/** Options with defaults applied. */
export type ResolvedSqlOptions = z.output<typeof sqlOptions>;
