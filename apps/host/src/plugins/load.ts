import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { extname, isAbsolute, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import {
  type Action,
  ConfigError,
  type ConfigIssue,
  isAction,
  type StandardSchemaV1,
  validateOptions,
} from "@switchyard/core";
import type { ActionConfig } from "../config/schema.js";
import consolePlugin from "./console.js";

/** What a config's `plugin` field resolved to. */
export type ResolvedPlugin =
  | {
      kind: "factory";
      name: string;
      create: (options: unknown) => Action;
      schema: StandardSchemaV1 | undefined;
    }
  | { kind: "file"; name: string; action: Action };

const BUILTINS: Record<string, ResolvedPlugin> = {
  console: {
    kind: "factory",
    name: "console",
    create: consolePlugin as (o: unknown) => Action,
    schema: consolePlugin.optionsSchema,
  },
};

const TS = new Set([".ts", ".mts", ".cts", ".tsx"]);

/** True when `spec` names a file rather than a package. */
export function isPathSpec(spec: string): boolean {
  return spec.startsWith(".") || isAbsolute(spec) || /\.(c|m)?(j|t)sx?$/.test(spec);
}

/**
 * Resolve `plugin` from a config: a built-in (`console`), a package installed next to the config or in the
 * host's workspace, or a file (resolved from the config's folder) exporting a plugin factory or
 * Auth0's `onExecuteEventStream`.
 */
export async function resolvePlugin(spec: string, configDir: string): Promise<ResolvedPlugin> {
  const builtin = BUILTINS[spec];
  if (builtin) return builtin;
  let mod: unknown;
  if (isPathSpec(spec)) {
    const file = resolve(configDir, spec);
    if (!existsSync(file)) throw new Error(`file not found: ${file}`);
    mod = await importFile(file);
  } else {
    mod = await importPackage(spec, configDir);
  }
  return fromModule(spec, mod);
}

async function importFile(file: string): Promise<unknown> {
  const url = pathToFileURL(file).href;
  if (TS.has(extname(file))) {
    const { tsImport } = await import("tsx/esm/api");
    return tsImport(url, import.meta.url);
  }
  return import(url);
}

async function importPackage(name: string, configDir: string): Promise<unknown> {
  let local: string | undefined;
  try {
    local = createRequire(join(configDir, "package.json")).resolve(name);
  } catch {
    // Not installed next to the config: fall back to the host's own dependencies (the bundled plugins).
  }
  try {
    return await import(local ? pathToFileURL(local).href : name);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ERR_MODULE_NOT_FOUND" && String((error as Error).message).includes(`'${name}'`)) {
      throw new Error(`cannot find plugin package "${name}": install it next to the config (npm i ${name})`);
    }
    throw error;
  }
}

function fromModule(spec: string, mod: unknown): ResolvedPlugin {
  const ns = mod as Record<string, unknown>;
  const main = ns.default as Record<string, unknown> | ((...args: unknown[]) => unknown) | undefined;
  // Auth0 Event Stream Action code: `exports.onExecuteEventStream = …` (CJS) or `export const …` (ESM).
  const handler =
    ns.onExecuteEventStream ?? (main as Record<string, unknown> | undefined)?.onExecuteEventStream;
  if (typeof handler === "function") {
    const close = ns.close ?? (main as Record<string, unknown> | undefined)?.close;
    const action: Action = { onExecuteEventStream: handler as Action["onExecuteEventStream"] };
    if (typeof close === "function") action.close = close as () => Promise<void>;
    return { kind: "file", name: spec, action };
  }
  const factory =
    typeof main === "function"
      ? main
      : typeof (main as { default?: unknown })?.default === "function"
        ? (main as { default: (o: unknown) => unknown }).default
        : undefined;
  if (factory) {
    const schema = (factory as { optionsSchema?: StandardSchemaV1 }).optionsSchema;
    const name = (factory as { pluginName?: string }).pluginName ?? spec;
    return {
      kind: "factory",
      name,
      schema,
      create: (options) => {
        const action = factory(options);
        if (!isAction(action))
          throw new Error(
            `plugin "${spec}" returned something that is not an action (no onExecuteEventStream)`,
          );
        return action;
      },
    };
  }
  throw new Error(
    `"${spec}" is not a plugin: it must default-export a factory \`(options) => Action\` or export \`onExecuteEventStream(event, api)\``,
  );
}

/** Check an action's `with` options against its plugin's schema; issues name `actions[i].with.…`. */
export function checkActionOptions(
  plugin: ResolvedPlugin,
  action: ActionConfig,
  index: number,
): ConfigIssue[] {
  if (plugin.kind !== "factory" || !plugin.schema) return [];
  try {
    validateOptions(plugin.name, plugin.schema, action.with);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) {
      return error.issues.map((issue) => ({
        path: `actions[${index}].with${issue.path ? `.${issue.path}` : ""}`,
        message: issue.message,
      }));
    }
    throw error;
  }
}
