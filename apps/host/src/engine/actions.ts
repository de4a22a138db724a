import { type Action, type CacheBackend, ConfigError, createActionCache } from "@switchyard/core";
import type { LoadedConfig } from "../config/load.js";
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
 * runner, connected to the completion writer. On failure every action made so far is closed again.
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
      let action: Action;
      try {
        action = plugin.kind === "factory" ? plugin.create(config.with) : plugin.action;
      } catch (error) {
        throw new ConfigError(
          `${loaded.file}: actions[${index}] (${config.name}): ${deps.redact((error as Error).message)}`,
        );
      }
      actions.push(action);
      const cache = createActionCache(await persistentCache(deps.store, config.name, deps.log));
      runners.push(new ActionRunner({ ...deps, config, action, cache, cloneEvents: plugin.kind === "file" }));
    }
  } catch (error) {
    await closeActions(actions, deps.log);
    throw error;
  }
  deps.completions.attach({
    watermarks: (out) => runners.map((r) => ({ action: r.name, upto: r.ledger.checkpoint(Date.now(), out) })),
    flushed: (batch) => {
      deps.backlog.finished(batch.filter((c) => c.result === "delivered" || c.result === "dead").length);
      for (const runner of runners) runner.afterFlush(batch);
    },
  });
  return { runners, actions };
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
