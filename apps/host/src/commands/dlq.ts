import { patternError } from "@switchyard/core";
import { type Command, InvalidArgumentError } from "commander";
import { cliActor, purgeDeadLetters, replayDeadLetters, selectsDeadLetters } from "../operations.js";
import { openStore } from "../store/open.js";
import type { DeadLetter, DeadLetterFilter } from "../store/types.js";
import { DEFAULT_TENANT } from "../tenants.js";
import {
  type ConfigOptions,
  loadConfigForState,
  requireAction,
  requireTenant,
  withConfig,
} from "./config-options.js";

const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * A point in time for `--since` and `--until`: a duration back from `now` (`30m`, `2h`, `7d`) or a
 * timestamp (`2026-11-01`, `2026-11-01T12:00:00Z`). Returns epoch milliseconds.
 */
export function parseWhen(value: string, now = Date.now()): number {
  const duration = /^(\d+(?:\.\d+)?)\s*([smhdw])$/.exec(value.trim());
  if (duration) return now - Number(duration[1]) * UNITS[duration[2]!]!;
  // A bare date or date-time; Date.parse alone would also take "1" or "June".
  if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value.trim())) {
    const time = Date.parse(value.trim());
    if (!Number.isNaN(time)) return time;
  }
  throw new InvalidArgumentError(
    "give a duration back from now (30m, 2h, 7d) or a timestamp (2026-11-01T12:00:00Z)",
  );
}

function eventPattern(value: string): string {
  const error = patternError(value);
  if (error) throw new InvalidArgumentError(error);
  return value;
}

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("give a whole number from 1 up");
  return n;
}

/** The selection options every `dlq` command takes. */
export interface DeadLetterOptions extends ConfigOptions {
  action?: string;
  tenant?: string;
  event?: string;
  type?: string;
  since?: number;
  until?: number;
  limit?: number;
}

/** The store's filter from the command's options. */
export function deadLetterFilter(options: DeadLetterOptions): DeadLetterFilter {
  return {
    action: options.action,
    tenant: options.tenant,
    eventId: options.event,
    type: options.type,
    since: options.since,
    until: options.until,
    limit: options.limit,
  };
}

const withSelection = (command: Command) =>
  withConfig(command)
    .option("-a, --action <name>", "only this action")
    .option("--tenant <name>", "only this tenant's events (a `sources` tenant)")
    .option("-e, --event <id>", "only this event id")
    .option("-t, --type <pattern>", "only these event types: user.created, user.*, *", eventPattern)
    .option("--since <when>", "dead-lettered at or after: 30m, 2h, 7d ago, or a timestamp", (v) =>
      parseWhen(v),
    )
    .option("--until <when>", "dead-lettered before: 30m, 2h, 7d ago, or a timestamp", (v) => parseWhen(v))
    .option("-n, --limit <n>", "at most this many, oldest first", positiveInt);

/** Open the state store for a `dlq` command, after checking the action name against the config. */
async function withStore<T>(
  options: DeadLetterOptions,
  run: (store: Awaited<ReturnType<typeof openStore>>) => Promise<T>,
): Promise<T> {
  const loaded = await loadConfigForState(options);
  requireAction(loaded, options.action);
  requireTenant(loaded, options.tenant);
  const store = await openStore(loaded);
  try {
    return await run(store);
  } finally {
    await store.close();
  }
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

function formatDeadLetters(dead: ReadonlyArray<Omit<DeadLetter, "key">>): string {
  if (dead.length === 0) return "no dead letters\n";
  // A config with `sources`: each line says whose event it was.
  const tenanted = dead.some((d) => d.tenant !== DEFAULT_TENANT);
  const lines = dead.map(
    (d) =>
      `${d.failedAt}  ${d.action}  ${tenanted ? `${d.tenant}  ` : ""}${d.eventType}  ${d.eventId}  attempts=${d.attempts}\n    ${d.lastError}`,
  );
  lines.push(
    `${plural(dead.length, "dead letter", "dead letters")}; replay with: switchyard dlq replay [--action A] [--event ID] [--since 2h]`,
  );
  return `${lines.join("\n")}\n`;
}

/** `switchyard dlq list|replay|purge` with a selection: action, event, type pattern, time range, limit. */
export function registerDlq(program: Command): void {
  const dlq = program.command("dlq").description("inspect, replay and purge dead-lettered deliveries");

  withSelection(dlq.command("list").description("list dead-lettered deliveries, oldest first"))
    .option("--json", "print a JSON array")
    .action(async (options: DeadLetterOptions & { json?: boolean }) => {
      const listed = await withStore(options, (store) => store.listDead(deadLetterFilter(options)));
      // The store's event key is the API's paging position, nothing for people or scripts.
      const dead = listed.map(({ key: _, ...letter }) => letter);
      process.stdout.write(options.json ? `${JSON.stringify(dead, null, 2)}\n` : formatDeadLetters(dead));
    });

  withSelection(
    dlq
      .command("replay")
      .description("deliver dead-lettered deliveries again (a running host picks them up within seconds)"),
  )
    .option("--dry-run", "print how many would be replayed, change nothing")
    .option(
      "--force",
      "also replay dead letters whose subject had a newer event delivered since (latest wins)",
    )
    .action(async (options: DeadLetterOptions & { dryRun?: boolean; force?: boolean }) => {
      const filter = deadLetterFilter(options);
      const { count, refused } = await withStore(options, (store) =>
        replayDeadLetters(store, filter, {
          actor: cliActor(),
          dryRun: options.dryRun,
          force: options.force,
        }),
      );
      process.stdout.write(
        options.dryRun
          ? `would replay ${plural(count, "dead letter", "dead letters")} (dry run: nothing changed)\n`
          : `${count} delivery(ies) queued again\n`,
      );
      // Refused ones stay dead letters; the error (exit 1) says which and why.
      if (refused.length > 0) {
        throw new Error(
          `${refused.map((r) => `refused: ${r.reason}`).join("\n")}\n${plural(refused.length, "dead letter", "dead letters")} not replayed: their subject had newer deliveries (--force replays them anyway)`,
        );
      }
    });

  withSelection(
    dlq
      .command("purge")
      .description("delete dead letters for good: needs a selection (--action, --type, --since, …) or --all"),
  )
    .option("--all", "every dead letter (with the selection options, every matching one)")
    .option("--dry-run", "print how many would be deleted, change nothing")
    .action(async (options: DeadLetterOptions & { all?: boolean; dryRun?: boolean }, command: Command) => {
      // No prompt: purge runs in CI and scripts, which have no stdin; an explicit selection stands for it.
      const filter = deadLetterFilter(options);
      if (!options.all && !selectsDeadLetters(filter)) {
        command.error(
          "error: dlq purge needs a selection (--action, --tenant, --event, --type, --since, --until) or --all",
          { exitCode: 2 },
        );
      }
      const line = await withStore(options, async (store) => {
        const count = await purgeDeadLetters(store, filter, {
          ...options,
          actor: cliActor(),
          how: "--all",
        });
        const letters = plural(count, "dead letter", "dead letters");
        return options.dryRun ? `would purge ${letters} (dry run: nothing changed)` : `purged ${letters}`;
      });
      process.stdout.write(`${line}\n`);
    });
}
