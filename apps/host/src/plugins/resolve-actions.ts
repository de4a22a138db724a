import { existsSync } from "node:fs";
import { ConfigError, type ConfigIssue } from "@switchyard/core";
import { restoreStrings, WANTS_STRING } from "../config/env.js";
import { formatPath, type LoadedConfig } from "../config/load.js";
import type { ActionConfig } from "../config/schema.js";
import { createRedactor } from "../config/secrets.js";
import { transformOf } from "../engine/shaping.js";
import { checkActionOptions, type ResolvedPlugin, resolvePlugin } from "./load.js";

/**
 * Load every action's plugin and check its options; one ConfigError lists every problem, with file:line. A
 * plugin whose code throws while it loads is a problem too, unless `keepBroken` (the host, which marks that
 * action failed and runs the others): then it comes back as a `broken` plugin.
 */
export async function resolveActions(
  loaded: LoadedConfig,
  options: { keepBroken?: boolean } = {},
): Promise<ResolvedPlugin[]> {
  const issues: Array<ConfigIssue & { at: Array<string | number> }> = [];
  const redact = createRedactor(loaded.secrets);
  const plugins: ResolvedPlugin[] = [];
  for (const [index, action] of loaded.config.actions.entries()) {
    try {
      let plugin = await resolvePlugin(action.plugin, loaded.dir);
      // What loading code threw may quote a secret of the config: it is printed and logged.
      if (plugin.kind === "broken") plugin = { ...plugin, reason: redact(plugin.reason) };
      plugins.push(plugin);
      if (plugin.kind === "broken" && !options.keepBroken) {
        issues.push({
          path: `actions[${index}].plugin`,
          message: `"${action.plugin}": ${plugin.reason}`,
          at: ["actions", index, "plugin"],
        });
        continue;
      }
      const transformProblem = await checkTransform(action, loaded.dir);
      if (transformProblem !== undefined) {
        if (options.keepBroken && transformProblem.loaded) {
          // Its code is broken, not the config: the action is marked failed, its events wait for a fix.
          plugins[plugins.length - 1] = {
            kind: "broken",
            name: action.plugin,
            reason: redact(transformProblem.message),
          };
        } else {
          issues.push({
            path: `actions[${index}].transform`,
            message: redact(transformProblem.message),
            at: ["actions", index, "transform"],
          });
        }
      }
      let found = checkActionOptions(plugin, action, index);
      // A `${VAR}` read as a number where the plugin wants a string (a numeric token) is its text again.
      const wanted = new Set(found.filter((i) => WANTS_STRING.test(i.message)).map((i) => i.path));
      if (
        wanted.size > 0 &&
        restoreStrings(loaded.config, loaded.coerced ?? [], (p) => wanted.has(formatPath(p)))
      ) {
        found = checkActionOptions(plugin, action, index);
      }
      for (const issue of found) {
        const keys = issue.path
          .replace(/^actions\[\d+\]\.?/, "")
          .split(".")
          .filter(Boolean);
        issues.push({ ...issue, at: ["actions", index, ...keys] });
      }
    } catch (error) {
      issues.push({
        path: `actions[${index}].plugin`,
        message: (error as Error).message,
        at: ["actions", index, "plugin"],
      });
    }
  }
  if (issues.length > 0) {
    const lines = issues.map(
      (i) => `  ${loaded.file}${loaded.locate?.(i.at) ?? ""}: ${i.path}: ${i.message}`,
    );
    throw new ConfigError(
      `invalid config ${loaded.file}:\n${lines.join("\n")}`,
      issues.map(({ path, message }) => ({ path, message })),
    );
  }
  return plugins;
}

/**
 * Why an action's `transform` cannot run: its file is missing (a config error), or its code does not load or
 * exports no function (`loaded`: a problem of its code, like a broken plugin). Loads it in a worker, as the host will.
 */
async function checkTransform(
  action: ActionConfig,
  configDir: string,
): Promise<{ message: string; loaded: boolean } | undefined> {
  const transform = transformOf(action, configDir);
  if (transform === undefined) return undefined;
  if (!existsSync(transform.file)) return { message: `file not found: ${transform.file}`, loaded: false };
  try {
    await transform.check();
    return undefined;
  } catch (error) {
    return { message: (error as Error).message, loaded: true };
  } finally {
    await transform.close();
  }
}
