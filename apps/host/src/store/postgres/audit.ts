// The audit log on PostgreSQL (the AuditStore part of the contract; see types.ts).
import { type AuditRow, auditEntry } from "../audit.js";
import { pageSize } from "../history.js";
import type { AuditStore } from "../types.js";
import type { PostgresContext } from "./context.js";

/** The audit methods over the store's pool. */
export function postgresAudit({ query }: PostgresContext): AuditStore {
  return {
    async recordAudit(record) {
      await query("INSERT INTO audit (at, actor, operation, selection, result) VALUES ($1, $2, $3, $4, $5)", [
        record.at,
        record.actor,
        record.operation,
        JSON.stringify(record.selection),
        JSON.stringify(record.result),
      ]);
    },
    async searchAudit(q) {
      const clauses: string[] = [];
      const params: number[] = [];
      if (q.since !== undefined) {
        params.push(q.since);
        clauses.push(`at >= $${params.length}`);
      }
      if (q.before !== undefined) {
        params.push(q.before);
        clauses.push(`id < $${params.length}`);
      }
      const where = clauses.length > 0 ? `WHERE ${clauses.join(" AND ")}` : "";
      const { rows } = await query<AuditRow>(
        `SELECT id, at, actor, operation, selection, result FROM audit ${where} ORDER BY id DESC LIMIT ${pageSize(q.limit)}`,
        params,
      );
      return rows.map(auditEntry);
    },
    async pruneAudit(before) {
      const { rowCount } = await query("DELETE FROM audit WHERE at < $1", [before]);
      return rowCount ?? 0;
    },
  };
}
