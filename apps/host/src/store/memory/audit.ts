// The audit log (AuditStore in ../types.ts): every operator operation, newest first, paged by id.
import { pageSize } from "../history.js";
import type { AuditEntry, AuditStore } from "../types.js";
import type { Answers, MemoryState } from "./state.js";

/** A selection or a result as the log keeps it: plain JSON, copied, so that later changes do not reach it. */
const json = (value: Record<string, unknown>) => JSON.parse(JSON.stringify(value)) as Record<string, unknown>;

/** An entry as a search gives it back: a copy. */
const copy = (entry: AuditEntry): AuditEntry => ({
  ...entry,
  selection: json(entry.selection),
  result: json(entry.result),
});

export function memoryAudit(state: MemoryState): Answers<AuditStore> {
  return {
    recordAudit(record) {
      const { at, actor, operation, selection, result } = record;
      // Ids increase and are never reused, even once pruned: they are page cursors.
      const id = ++state.lastAuditId;
      state.audit.push({ id, at, actor, operation, selection: json(selection), result: json(result) });
    },

    searchAudit(query) {
      const limit = pageSize(query.limit);
      const found: AuditEntry[] = [];
      for (let i = state.audit.length - 1; i >= 0 && found.length < limit; i--) {
        const entry = state.audit[i]!;
        if (query.before !== undefined && entry.id >= query.before) continue;
        if (query.since !== undefined && entry.at < query.since) continue;
        found.push(copy(entry));
      }
      return found;
    },

    pruneAudit(before) {
      const kept = state.audit.filter((entry) => entry.at >= before);
      const pruned = state.audit.length - kept.length;
      state.audit = kept;
      return pruned;
    },
  };
}
