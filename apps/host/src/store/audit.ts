// What both engines share of the audit log: how an entry's JSON columns are written and read back.
import type { AuditEntry } from "./types.js";

/** An audit row as both engines read it (ids and times may come back from Postgres as strings). */
export interface AuditRow {
  id: number | string;
  at: number | string;
  actor: string;
  operation: string;
  selection: string;
  result: string;
}

export function auditEntry(row: AuditRow): AuditEntry {
  return {
    id: Number(row.id),
    at: Number(row.at),
    actor: row.actor,
    operation: row.operation,
    selection: JSON.parse(row.selection) as Record<string, unknown>,
    result: JSON.parse(row.result) as Record<string, unknown>,
  };
}
