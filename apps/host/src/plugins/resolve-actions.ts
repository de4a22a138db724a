import { ConfigError, type ConfigIssue } from "@switchyard/core";
import type { LoadedConfig } from "../config/load.js";
import { checkActionOptions, type ResolvedPlugin, resolvePlugin } from "./load.js";

/** Load every action's plugin and check its options; one ConfigError lists every problem. */
export async function resolveActions(loaded: LoadedConfig): Promise<ResolvedPlugin[]> {
  const issues: ConfigIssue[] = [];
  const plugins: ResolvedPlugin[] = [];
  for (const [index, action] of loaded.config.actions.entries()) {
    try {
      const plugin = await resolvePlugin(action.plugin, loaded.dir);
      plugins.push(plugin);
      issues.push(...checkActionOptions(plugin, action, index));
    } catch (error) {
      issues.push({ path: `actions[${index}].plugin`, message: (error as Error).message });
    }
  }
  if (issues.length > 0) {
    const lines = issues.map((i) => `  ${loaded.file}: ${i.path}: ${i.message}`);
    throw new ConfigError(`invalid config ${loaded.file}:\n${lines.join("\n")}`, issues);
  }
  return plugins;
}
