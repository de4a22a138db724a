import {
  type Action,
  type CacheBackend,
  ConfigError,
  createActionCache,
  describeError,
} from "@switchyard/core";
import type { LoadedConfig } from "../config/load.js";
import { type ActionConfig, tenantSources } from "../config/schema.js";
import type { HostLogger } from "../logger.js";
import type { Metrics } from "../metrics.js";
import type { ResolvedPlugin } from "../plugins/load.js";
import type { StateStore } from "../store/types.js";
import type { DeliveryTracing } from "../telemetry/index.js";
import type { Backlog } from "./backlog.js";
import type { HistoryWriter } from "./history.js";
import { ActionRunner } from "./runner.js";
import { shapeAction } from "./shaping.js";
import type { CompletionWriter } from "./tracking.js";

export interface ActionsDeps {
  store: StateStore;
  completions: CompletionWriter;
  backlog: Backlog;
  metrics: Metrics;
  log: HostLogger;
  redact: (text: string) => string;
  /** Where attempts are recorded (undefined: no history). */
  history: HistoryWriter | undefined;
  /** Spans of attempts (undefined: traces off). */
  tracing?: DeliveryTracing | undefined;
  /** This host's replica id, recorded with each attempt. */
  replica: string;
}

/** The deps of `loaded`'s runners: whether its config lists several tenants (`RunnerDeps.severalTenants`). */
export function runnerDeps(
  deps: ActionsDeps,
  loaded: LoadedConfig,
): ActionsDeps & { severalTenants: boolean } {
  return { ...deps, severalTenants: tenantSources(loaded.config).length > 1 };
}

/**
 * The enabled actions of a config, each made from its plugin, with its persistent `api.cache` and its
 * runner. An action whose plugin is broken or whose factory throws gets a failed runner (`runner.failure`),
 * and the others run. On failure every action made so far is closed again. Connect them with `attachRunners`.
 */
export async function createRunners(
  loaded: LoadedConfig,
  plugins: readonly ResolvedPlugin[],
  deps: ActionsDeps,
): Promise<{ runners: ActionRunner[]; actions: Action[]; instances: Map<string, Action> }> {
  const runners: ActionRunner[] = [];
  const actions: Action[] = [];
  /** The instance each started runner's attempts run on (a failed runner has none), by action name. */
  const instances = new Map<string, Action>();
  deps = runnerDeps(deps, loaded);
  try {
    for (const [index, config] of loaded.config.actions.entries()) {
      if (!config.enabled) continue;
      const plugin = plugins[index]!;
      const made = makeAction(plugin, config, loaded.dir, deps.redact);
      if ("failure" in made) {
        // One broken action never stops the host: it gets a runner that never runs, so that its events are
        // still stored for it and wait there until a host starts it.
        const { failure } = made;
        const action = unavailable(failure);
        runners.push(
          new ActionRunner({ ...deps, config, action, cache: createActionCache(), userCode: false, failure }),
        );
        continue;
      }
      actions.push(made.action);
      instances.set(config.name, made.action);
      runners.push(await createRunner(config, made.action, plugin, deps));
    }
  } catch (error) {
    await closeActions(actions, deps.log);
    throw error;
  }
  return { runners, actions, instances };
}

/**
 * Make the action `actions[index]` from its plugin for a reload; a broken plugin or a factory's refusal is a
 * ConfigError naming it (the reload is refused and the running config kept).
 */
export function createAction(
  loaded: LoadedConfig,
  index: number,
  plugin: ResolvedPlugin,
  redact: (text: string) => string,
): Action {
  const config = loaded.config.actions[index]!;
  const made = makeAction(plugin, config, loaded.dir, redact);
  if ("failure" in made)
    throw new ConfigError(`${loaded.file}: actions[${index}] (${config.name}): ${made.failure}`);
  return made.action;
}

/**
 * The action of a resolved plugin, with its `transform` and `redact` (see shaping.ts), or why there is none
 * (its code threw as it loaded, or its factory threw).
 */
function makeAction(
  plugin: ResolvedPlugin,
  config: ActionConfig,
  configDir: string,
  redact: (text: string) => string,
): { action: Action } | { failure: string } {
  if (plugin.kind === "broken") return { failure: plugin.reason };
  if (plugin.kind === "file") return { action: shapeAction(plugin.action, config, configDir) };
  try {
    return { action: shapeAction(plugin.create(config.with), config, configDir) };
  } catch (error) {
    return { failure: `its factory threw: ${redact(describeError(error))}` };
  }
}

/** The stand-in action of a failed runner, which never runs it. */
function unavailable(failure: string): Action {
  return {
    onExecuteEventStream() {
      throw new Error(`the action could not be started: ${failure}`);
    },
  };
}

/** One action's runner, with its persistent `api.cache`. */
export async function createRunner(
  config: ActionConfig,
  action: Action,
  plugin: ResolvedPlugin,
  deps: ActionsDeps,
): Promise<ActionRunner> {
  const cache = createActionCache(await persistentCache(deps.store, config.name, deps.log));
  return new ActionRunner({ ...deps, config, action, cache, userCode: plugin.kind === "file" });
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
