import { definePlugin } from "@switchyard/core";
import { sqlOptions } from "./options.js";
import { createSqlAction } from "./sql-action.js";

export type { ResolvedSqlOptions, SqlOptions } from "./options.js";
export { sqlOptions } from "./options.js";

/**
 * Keep tables of users (and organizations, memberships) in step with Auth0, on PostgreSQL or MySQL/MariaDB:
 * one row per user, upserted by user.created/updated and deleted by user.deleted, never overwritten by an
 * older event whatever the order of delivery.
 */
const sql = definePlugin({ name: "sql", options: sqlOptions, create: createSqlAction });
export default sql;
