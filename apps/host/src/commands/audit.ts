import type { Command } from "commander";
import { openStore } from "../store/open.js";
import type { AuditEntry } from "../store/types.js";
import { type ConfigOptions, loadConfigForState, withConfig } from "./config-options.js";
import { parseWhen, positiveInt } from "./dlq.js";

/** An entry's fields as `key=value` pairs, for people (values that are not text as JSON). */
const pairs = (fields: Record<string, unknown>) =>
  Object.entries(fields)
    .map(([key, value]) => `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`)
    .join(" ");

/** The log for people: one line per operation, newest first. */
export function formatAudit(entries: readonly AuditEntry[]): string {
  if (entries.length === 0) return "no operator operations recorded\n";
  return `${entries
    .map((e) =>
      [new Date(e.at).toISOString(), e.actor, e.operation, pairs(e.selection), pairs(e.result)]
        .filter((part) => part !== "")
        .join("  "),
    )
    .join("\n")}\n`;
}

/** Every entry made since `since` (all of them without), newest first, at most `limit`. */
export async function readAudit(
  list: (query: {
    since?: number | undefined;
    before?: number | undefined;
    limit: number;
  }) => Promise<AuditEntry[]>,
  since: number | undefined,
  limit: number,
): Promise<AuditEntry[]> {
  const entries: AuditEntry[] = [];
  let before: number | undefined;
  for (;;) {
    const want = Math.min(500, limit - entries.length);
    if (want <= 0) break;
    const page = await list({ since, before, limit: want });
    entries.push(...page);
    if (page.length < want) break;
    before = page.at(-1)!.id;
  }
  return entries;
}

/** `switchyard audit`: who paused, resumed, replayed or purged what, from the CLI, the API or the console. */
export function registerAudit(program: Command): void {
  withConfig(
    program
      .command("audit")
      .description(
        "list operator operations (pause, resume, replay, purge, config reloads) and the host's own pauses: who, when, what, newest first",
      ),
  )
    .option("--since <when>", "made at or after: 30m, 2h, 7d ago, or a timestamp", (v) => parseWhen(v))
    .option("-n, --limit <n>", "at most this many, newest first (default 100)", positiveInt)
    .option("--json", "print a JSON array")
    .action(async (options: ConfigOptions & { since?: number; limit?: number; json?: boolean }) => {
      const loaded = await loadConfigForState(options);
      const store = await openStore(loaded);
      let entries: AuditEntry[];
      try {
        entries = await readAudit((q) => store.searchAudit(q), options.since, options.limit ?? 100);
      } finally {
        await store.close();
      }
      const json = entries.map((e) => ({ ...e, at: new Date(e.at).toISOString() }));
      process.stdout.write(options.json ? `${JSON.stringify(json, null, 2)}\n` : formatAudit(entries));
    });
}
