import { type Action, ConfigError } from "@switchyard/core";
import type { LoadedConfig } from "../config/load.js";
import type { ActionConfig } from "../config/schema.js";
import type { ResolvedPlugin } from "../plugins/load.js";
import { type ActionsDeps, closeActions, createAction, createRunner, runnerDeps } from "./actions.js";
import type { ActionRunner } from "./runner.js";

/** What a reload did, by action name. */
export interface ReloadSummary {
  added: string[];
  changed: string[];
  removed: string[];
  unchanged: number;
}

/** A reload made ready: every new action instance exists; nothing runs on them yet. */
interface Prepared {
  config: LoadedConfig;
  added: Array<{ runner: ActionRunner; action: Action }>;
  changed: Array<{ runner: ActionRunner; action: Action; config: ActionConfig; userCode: boolean }>;
  removed: ActionRunner[];
  unchanged: number;
}

/**
 * The host's actions and their runners, as the config names them; a reload (SIGHUP, `switchyard reload`)
 * changes them while deliveries flow.
 *
 * - An added action gets a runner, which starts with the next events (and whatever the store holds for its
 *   name from before).
 * - A changed action keeps its runner, queue and ledger; new attempts run on a new instance made from the
 *   new options, attempts in flight finish on the old one, which is closed after the last (runner.ts).
 * - A removed action's runner takes no new deliveries, hands those waiting in memory back to the store (where
 *   they stay), and lets its attempts in flight finish. It stays in `all()` until then, so that its results
 *   and watermark are written (tracking.ts).
 *
 * `runners` is the one array the ingest step, the reader, the controls and the chores read: it is changed in
 * place, between two ingest writes (`apply` runs inside `Ingest.exclusive`), so no event is routed to a
 * runner that is going away.
 */
export class ActionSet {
  private readonly retiring = new Set<ActionRunner>();
  /** Replaced and removed instances being closed once their last attempt finished. */
  private readonly closing = new Set<Promise<unknown>>();

  constructor(
    /** The active runners, one per enabled action. */
    readonly runners: ActionRunner[],
    /** The instance each active runner's new attempts run on, by action name. */
    private readonly instances: Map<string, Action>,
    private configs: readonly ActionConfig[],
    private readonly deps: ActionsDeps,
  ) {}

  /** Active runners and removed ones still finishing. */
  all(): Iterable<ActionRunner> {
    return this.retiring.size === 0 ? this.runners : [...this.runners, ...this.retiring];
  }

  /** The configured actions (enabled or not), as of the last reload. */
  get actions(): readonly ActionConfig[] {
    return this.configs;
  }

  /**
   * Make every action instance the new config needs, or throw (a ConfigError with the reason) having changed
   * nothing. An unchanged action keeps its instance.
   */
  async prepare(next: LoadedConfig, plugins: readonly ResolvedPlugin[]): Promise<Prepared> {
    const byName = new Map(this.runners.map((runner) => [runner.name, runner]));
    const before = new Map(this.configs.map((config) => [config.name, config]));
    const prepared: Prepared = { config: next, added: [], changed: [], removed: [], unchanged: 0 };
    const made: Action[] = [];
    try {
      const kept = new Set<string>();
      for (const [index, config] of next.config.actions.entries()) {
        if (!config.enabled) continue;
        kept.add(config.name);
        const runner = byName.get(config.name);
        if (runner && JSON.stringify(before.get(config.name)) === JSON.stringify(config)) {
          prepared.unchanged++;
          continue;
        }
        const plugin = plugins[index]!;
        const action = createAction(next, index, plugin, this.deps.redact);
        made.push(action);
        if (!runner) {
          prepared.added.push({
            runner: await createRunner(config, action, plugin, runnerDeps(this.deps, next)),
            action,
          });
          continue;
        }
        if ((config.orderBy !== undefined) !== runner.ordered) {
          throw new ConfigError(
            `${next.file}: actions[${index}] (${config.name}): orderBy cannot be added or removed by a reload (its waiting deliveries are kept differently): restart the host`,
          );
        }
        prepared.changed.push({ runner, action, config, userCode: plugin.kind === "file" });
      }
      prepared.removed = this.runners.filter((runner) => !kept.has(runner.name));
    } catch (error) {
      await closeActions(made, this.deps.log);
      throw error;
    }
    return prepared;
  }

  /** Switch to a prepared config. Returns when the switch is made; old instances close in the background. */
  apply(
    prepared: Prepared,
    hooks: { adopt: (runner: ActionRunner) => void; graceMs: number },
  ): ReloadSummary {
    const { log } = this.deps;
    for (const { runner, action, config, userCode } of prepared.changed) {
      const old = this.instances.get(runner.name);
      this.instances.set(runner.name, action);
      this.track(runner.reconfigure(action, config, userCode).then(() => old && closeActions([old], log)));
    }
    for (const runner of prepared.removed) {
      this.runners.splice(this.runners.indexOf(runner), 1);
      this.retiring.add(runner);
      const old = this.instances.get(runner.name);
      this.instances.delete(runner.name);
      this.track(
        runner
          .retire(hooks.graceMs)
          .then(() => this.deps.completions.flush())
          .then(() => {
            this.retiring.delete(runner);
            return old && closeActions([old], log);
          }),
      );
    }
    for (const { runner, action } of prepared.added) {
      this.runners.push(runner);
      this.instances.set(runner.name, action);
      hooks.adopt(runner);
      runner.start();
    }
    this.configs = prepared.config.config.actions;
    return {
      added: prepared.added.map((a) => a.runner.name),
      changed: prepared.changed.map((c) => c.runner.name),
      removed: prepared.removed.map((r) => r.name),
      unchanged: prepared.unchanged,
    };
  }

  /** Close what a prepared reload made, when it is not applied after all. */
  discard(prepared: Prepared): Promise<void> {
    return closeActions(
      [...prepared.added.map((a) => a.action), ...prepared.changed.map((c) => c.action)],
      this.deps.log,
    );
  }

  /** Close every action instance (shutdown, after the runners stopped). */
  async close(): Promise<void> {
    await Promise.all([closeActions([...this.instances.values()], this.deps.log), ...this.closing]);
  }

  private track(closing: Promise<unknown>): void {
    const settled = closing.catch(() => {}).finally(() => this.closing.delete(settled));
    this.closing.add(settled);
  }
}
