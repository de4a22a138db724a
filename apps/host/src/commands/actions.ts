import type { Command } from "commander";
import type { LoadedConfig } from "../config/load.js";
import {
  type ActionSummary,
  type CircuitSummary,
  cliActor,
  forgetAction,
  pauseAction,
  resumeAction,
  summarizeActions,
} from "../operations.js";
import { openStore } from "../store/open.js";
import type { StateStore } from "../store/types.js";
import {
  type ConfigOptions,
  loadConfigForState,
  requireAction,
  requireTenant,
  withConfig,
} from "./config-options.js";

/** The list for people: one line per action; `tenanted` (a config with `sources`) adds each one's tenants. */
export function formatActions(actions: readonly ActionSummary[], tenanted = false): string {
  const status = (a: ActionSummary) => {
    if (a.removed) return "removed (not in the config: its deliveries wait for it)";
    if (!a.enabled) return "disabled";
    if (a.failed !== undefined) return `failed (${a.failed}${a.since ? ` since ${a.since}` : ""})`;
    if (!a.paused) return a.rateLimit ? `rate-limited (${a.rateLimit})` : "running";
    return `paused (${a.reason ?? "operator"}${a.since ? ` since ${a.since}` : ""})`;
  };
  const rows = [
    ["ACTION", "PLUGIN", ...(tenanted ? ["TENANTS"] : []), "EVENTS", "STATE", "PENDING", "DEAD"],
    ...actions.map((a) => [
      a.name,
      a.plugin || "-",
      ...(tenanted ? [a.tenants.join(",") || "-"] : []),
      a.events.join(",") || "-",
      `${status(a)}${a.circuit ? `, ${formatCircuit(a.circuit)}` : ""}${a.circuitBreaker ? ` [breaker: ${a.circuitBreaker}]` : ""}`,
      String(a.pending),
      String(a.dead),
    ]),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return `${rows
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join("  ")
        .trimEnd(),
    )
    .join("\n")}\n`;
}

/**
 * An action's breakers for people: `circuit closed`, or each replica's that is not:
 * `circuit open until 12:00:30Z (replica r1), half-open (replica r2)`.
 */
export function formatCircuit(circuit: CircuitSummary, now = Date.now()): string {
  if (circuit.replicas.length === 0) return "circuit closed";
  const today = new Date(now).toISOString().slice(0, 10);
  const at = (iso: string) => (iso.slice(0, 10) === today ? `${iso.slice(11, 19)}Z` : iso);
  const parts = circuit.replicas.map(
    (r) => `${r.state}${r.until !== undefined ? ` until ${at(r.until)}` : ""} (replica ${r.replica})`,
  );
  return `circuit ${parts.join(", ")}`;
}

async function withStore<T>(
  options: ConfigOptions & { tenant?: string },
  name: string | undefined,
  run: (store: StateStore, loaded: LoadedConfig) => Promise<T>,
): Promise<T> {
  const loaded = await loadConfigForState(options);
  requireAction(loaded, name);
  requireTenant(loaded, options.tenant);
  const store = await openStore(loaded);
  try {
    return await run(store, loaded);
  } finally {
    await store.close();
  }
}

/** `switchyard actions list|pause|resume`: an action's paused state lives in the store, which a running host watches. */
export function registerActions(program: Command): void {
  const actions = program
    .command("actions")
    .description(
      "list the configured actions; pause and resume one (a running host follows within seconds); forget one no longer in the config",
    );

  withConfig(
    actions
      .command("list")
      .description("each action: plugin, tenants (with `sources`), events, state, pending and dead letters"),
  )
    .option("--tenant <name>", "only the actions that take this tenant's events (a `sources` tenant)")
    .option("--json", "print a JSON array")
    .action(async (options: ConfigOptions & { json?: boolean; tenant?: string }) => {
      const { list, tenanted } = await withStore(options, undefined, async (store, loaded) => ({
        list: await summarizeActions(loaded, store, options.tenant),
        tenanted: loaded.config.sources !== undefined,
      }));
      // With a single `source` every action takes the one tenant: `tenants` would say nothing.
      const shown = tenanted ? list : list.map(({ tenants: _, ...rest }) => rest);
      process.stdout.write(
        options.json ? `${JSON.stringify(shown, null, 2)}\n` : formatActions(list, tenanted),
      );
    });

  withConfig(
    actions
      .command("pause")
      .description("stop delivering to an action; its events keep being stored and wait for resume")
      .argument("<name>", "a configured action"),
  ).action(async (name: string, options: ConfigOptions) => {
    await withStore(options, name, (store) => pauseAction(store, name, cliActor()));
    process.stdout.write(
      `paused ${name}: a running host stops starting its deliveries within a few seconds\n`,
    );
  });

  withConfig(
    actions
      .command("resume")
      .description("deliver to a paused action again, its waiting events first")
      .argument("<name>", "a configured action"),
  ).action(async (name: string, options: ConfigOptions) => {
    await withStore(options, name, (store) => resumeAction(store, name, cliActor()));
    process.stdout.write(
      `resumed ${name}: a running host delivers its waiting events within a few seconds\n`,
    );
  });

  withConfig(
    actions
      .command("forget")
      .description(
        "drop what waits in the store for an action no longer in the config (removed or renamed): its deliveries and dead letters",
      )
      .argument("<name>", "an action that `actions list` shows as removed"),
  )
    .option("--dry-run", "only say what it would drop")
    .action(async (name: string, options: ConfigOptions & { dryRun?: boolean }) => {
      const { pending, dead, dropped } = await withStore(options, undefined, (store, loaded) =>
        forgetAction(loaded, store, name, { actor: cliActor(), dryRun: options.dryRun }),
      );
      const what = `${pending} ${pending === 1 ? "delivery" : "deliveries"} and ${dead} dead ${dead === 1 ? "letter" : "letters"} of ${name}`;
      // A running host may still have some in flight (a removed action's attempts end within the grace period).
      const inFlight = dropped === undefined ? 0 : pending + dead - dropped;
      process.stdout.write(
        pending + dead === 0
          ? `nothing waits in the store for ${name}\n`
          : options.dryRun
            ? `would drop ${what} (dry run: nothing changed)\n`
            : `dropped ${what}${inFlight > 0 ? ` but ${inFlight} in flight, left to finish` : ""}\n`,
      );
    });
}
