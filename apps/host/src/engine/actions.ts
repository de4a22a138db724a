import { type Action, type CacheBackend, ConfigError, createActionCache } from "@switchyard/core";
import type { LoadedConfig } from "../config/load.js";
import type { ActionConfig } from "../config/schema.js";
import type { HostLogger } from "../logger.js";
import type { Metrics } from "../metrics.js";
import type { ResolvedPlugin } from "../plugins/load.js";
import type { StateStore } from "../store/types.js";
import type { Backlog } from "./backlog.js";
import type { CompletionWriter } from "./completions.js";
import type { HistoryWriter } from "./history.js";
import { ActionRunner } from "./runner.js";

export interface ActionsDeps {
  store: StateStore;
  completions: CompletionWriter;
  backlog: Backlog;
  metrics: Metrics;
  log: HostLogger;
  redact: (text: string) => string;
  /** Where attempts are recorded (undefined: no history). */
  history: HistoryWriter | undefined;
  /** This host's replica id, recorded with each attempt. */
  replica: string;
}

/**
 * The enabled actions of a config, each made from its plugin, with its persistent `api.cache` and its
 * runner. On failure every action made so far is closed again. Connect them with `attachRunners`.
 */
export async function createRunners(
  loaded: LoadedConfig,
  plugins: readonly ResolvedPlugin[],
  deps: ActionsDeps,
): Promise<{ runners: ActionRunner[]; actions: Action[] }> {
  const runners: ActionRunner[] = [];
  const actions: Action[] = [];
  try {
    for (const [index, config] of loaded.config.actions.entries()) {
      if (!config.enabled) continue;
      const plugin = plugins[index]!;
      const action = createAction(loaded, index, plugin, deps.redact);
      actions.push(action);
      runners.push(await createRunner(config, action, plugin, deps));
    }
  } catch (error) {
    await closeActions(actions, deps.log);
    throw error;
  }
  return { runners, actions };
}

/** Make the action `actions[index]` from its plugin; a factory's refusal is a ConfigError naming it. */
export function createAction(
  loaded: LoadedConfig,
  index: number,
  plugin: ResolvedPlugin,
  redact: (text: string) => string,
): Action {
  const config = loaded.config.actions[index]!;
  try {
    return plugin.kind === "factory" ? plugin.create(config.with) : plugin.action;
  } catch (error) {
    throw new ConfigError(
      `${loaded.file}: actions[${index}] (${config.name}): ${redact((error as Error).message)}`,
    );
  }
}

/** One action's runner, with its persistent `api.cache`. */
export async function createRunner(
  config: ActionConfig,
  action: Action,
  plugin: ResolvedPlugin,
  deps: ActionsDeps,
): Promise<ActionRunner> {
  const cache = createActionCache(await persistentCache(deps.store, config.name, deps.log));
  return new ActionRunner({ ...deps, config, action, cache, cloneEvents: plugin.kind === "file" });
}

/**
 * Connect the runners to the completion writer. `runners` is read at each flush: a reload changes it, and a
 * removed action's runner stays in it until its last results are written, so its watermark keeps moving.
 */
export function attachRunners(
  completions: CompletionWriter,
  backlog: Backlog,
  runners: () => Iterable<ActionRunner>,
): void {
  completions.attach({
    watermarks: (out) => {
      const marks = [];
      for (const r of runners()) {
        if (!r.ordered) marks.push({ action: r.name, upto: r.ledger.checkpoint(Date.now(), out) });
      }
      return marks;
    },
    flushed: (batch) => {
      backlog.finished(batch.filter((c) => c.result === "delivered" || c.result === "dead").length);
      for (const runner of runners()) runner.afterFlush();
    },
  });
}

/** Close every action (flush buffers, release connections), each within 5 s. */
export async function closeActions(actions: readonly Action[], log: HostLogger): Promise<void> {
  await Promise.all(
    actions.map(async (action) => {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          action.close?.(),
          new Promise((resolve) => {
            timer = setTimeout(resolve, 5_000);
          }),
        ]);
      } catch (error) {
        log.warn({ err: error }, "an action failed to close");
      } finally {
        clearTimeout(timer);
      }
    }),
  );
}

/** An action's `api.cache` entries live in the store; writes go to it in order, without waiting. */
async function persistentCache(store: StateStore, action: string, log: HostLogger): Promise<CacheBackend> {
  const entries = await store.loadCache(action);
  const failed = (error: unknown) =>
    log.error({ action, err: error }, "could not write the action's cache to the store");
  return {
    load: () => entries,
    save: (key, record) => void store.saveCache(action, key, record).catch(failed),
    remove: (key) => void store.removeCache(action, key).catch(failed),
  };
}
