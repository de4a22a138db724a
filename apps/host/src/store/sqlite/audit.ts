// The audit log on SQLite (the AuditStore part of the contract; see types.ts).
import { type AuditRow, auditEntry } from "../audit.js";
import { pageSize } from "../history.js";
import type { AuditStore } from "../types.js";
import type { SqliteContext } from "./context.js";

/** Schema version 4: the operators' operations, one row each (a version 3 store gains the table on open). */
export const AUDIT_SCHEMA = `
CREATE TABLE IF NOT EXISTS audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: ids are page cursors
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  operation TEXT NOT NULL,
  selection TEXT NOT NULL,               -- JSON
  result TEXT NOT NULL                   -- JSON
);
CREATE INDEX IF NOT EXISTS audit_at ON audit (at);
`;

/** The audit contract, answered synchronously (as SqliteStore answers the rest). */
export type SqliteAudit = {
  [K in keyof AuditStore]: AuditStore[K] extends (...args: infer A) => Promise<infer R>
    ? (...args: A) => R
    : never;
};

export function sqliteAudit({ db }: SqliteContext): SqliteAudit {
  const insert = db.prepare<[number, string, string, string, string]>(
    "INSERT INTO audit (at, actor, operation, selection, result) VALUES (?, ?, ?, ?, ?)",
  );
  return {
    recordAudit(record) {
      insert.run(
        record.at,
        record.actor,
        record.operation,
        JSON.stringify(record.selection),
        JSON.stringify(record.result),
      );
    },
    searchAudit(query) {
      const clauses: string[] = [];
      const params: number[] = [];
      if (query.since !== undefined) {
        clauses.push("at >= ?");
        params.push(query.since);
      }
      if (query.before !== undefined) {
        clauses.push("id < ?");
        params.push(query.before);
      }
      const where = clauses.length > 0 ? `WHERE ${clauses.join(" AND ")}` : "";
      return db
        .prepare<number[], AuditRow>(
          `SELECT id, at, actor, operation, selection, result FROM audit ${where} ORDER BY id DESC LIMIT ${pageSize(query.limit)}`,
        )
        .all(...params)
        .map(auditEntry);
    },
    pruneAudit(before) {
      return db.prepare("DELETE FROM audit WHERE at < ?").run(before).changes;
    },
  };
}
