/** SQL for an event type pattern: `*` (no clause), `prefix.*` (LIKE, any depth) or an exact type. */
export function typeClause(pattern: string | undefined): { op: "=" | "LIKE"; value: string } | undefined {
  if (pattern === undefined || pattern === "*") return undefined;
  if (pattern.endsWith(".*")) {
    return { op: "LIKE", value: `${pattern.slice(0, -1).replace(/[%_\\]/g, "\\$&")}%` };
  }
  return { op: "=", value: pattern };
}
