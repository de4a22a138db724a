import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, isAbsolute, join, resolve, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import {
  type Action,
  ConfigError,
  type ConfigIssue,
  describeError,
  isAction,
  missingOption,
  type StandardSchemaV1,
  validateOptions,
} from "@switchyard/core";
import type { ActionConfig } from "../config/schema.js";
import { importCode } from "./code-loader.js";
import consolePlugin from "./console.js";

/** What a config's `plugin` field resolved to. */
export type ResolvedPlugin =
  | {
      kind: "factory";
      name: string;
      create: (options: unknown) => Action;
      schema: StandardSchemaV1 | undefined;
      /** Where its code lives (its package's folder), to attribute its uncaught errors; unknown for built-ins. */
      code?: string | undefined;
    }
  | { kind: "file"; name: string; action: Action; code?: string | undefined }
  /**
   * The plugin's code threw while it loaded (not a missing file or package, which are config errors): the host
   * marks the action failed and runs the others (see engine/actions.ts); `validate` reports it.
   */
  | { kind: "broken"; name: string; reason: string };

const BUILTINS: Record<string, ResolvedPlugin> = {
  console: {
    kind: "factory",
    name: "console",
    create: consolePlugin as (o: unknown) => Action,
    schema: consolePlugin.optionsSchema,
  },
};

/** An npm package name, scoped or not: lower case, never starting with `.` or `_`. */
const PACKAGE_NAME = /^(@[a-z0-9~-][a-z0-9._~-]*\/)?[a-z0-9~-][a-z0-9._~-]*$/;

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
  const builtin = Object.hasOwn(BUILTINS, spec) ? BUILTINS[spec] : undefined;
  if (builtin) return builtin;
  if (!isPathSpec(spec) && !PACKAGE_NAME.test(spec)) {
    throw new Error(
      `"${spec}" is not a built-in plugin (console), a package name (e.g. @switchyard/plugin-slack) or a path to a file (./actions/notify.js)`,
    );
  }
  let mod: unknown;
  let code: string | undefined;
  try {
    if (isPathSpec(spec)) {
      const file = resolve(configDir, spec);
      if (!existsSync(file)) throw new ConfigError(`file not found: ${file}`);
      code = file;
      mod = await importFile(file, spec, configDir);
    } else {
      code = packageFolder(spec, configDir);
      mod = await importPackage(spec, configDir);
    }
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    return { kind: "broken", name: spec, reason: `its code threw while loading: ${describeError(error)}` };
  }
  return { ...fromModule(spec, mod), code } as ResolvedPlugin;
}

/**
 * The folder of an installed plugin package (ending with the separator), as a stack trace shows its files:
 * `…/node_modules/name/`, or the entry's own folder in a workspace. Undefined when it cannot be resolved here.
 */
function packageFolder(name: string, configDir: string): string | undefined {
  let entry: string | undefined;
  try {
    entry = createRequire(join(configDir, "package.json")).resolve(name);
  } catch {
    try {
      entry = fileURLToPath(import.meta.resolve(name));
    } catch {
      return undefined;
    }
  }
  const marker = `${sep}node_modules${sep}${name.split("/").join(sep)}${sep}`;
  const at = entry.lastIndexOf(marker);
  return at >= 0 ? entry.slice(0, at + marker.length) : `${dirname(entry)}${sep}`;
}

/**
 * A module an action file imports that is not installed, as a config error naming both: Auth0 installs an
 * action's dependencies from its settings; here they are installed next to the config. Undefined for any
 * other error.
 */
function missingDependency(error: unknown, spec: string, configDir: string): ConfigError | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code !== "MODULE_NOT_FOUND" && code !== "ERR_MODULE_NOT_FOUND") return undefined;
  // Node's wording: CommonJS "Cannot find module 'x'", ESM "Cannot find package 'x' imported from …".
  const missing = /Cannot find (?:module|package) '([^']+)'/.exec(String((error as Error).message))?.[1];
  if (missing === undefined) return undefined;
  if (isPathSpec(missing) || missing.startsWith("/")) {
    return new ConfigError(`the action file ${spec} imports ${missing}, which does not exist`);
  }
  const name = packageName(missing);
  return new ConfigError(
    `the action file ${spec} requires the npm package "${name}", which is not installed next to the config: run \`npm install ${name}\` in ${configDir}`,
  );
}

/** The package a bare specifier names: `@hubspot/api-client/lib/x` → `@hubspot/api-client`. */
function packageName(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
}

async function importFile(file: string, spec: string, configDir: string): Promise<unknown> {
  try {
    return await importCode(file);
  } catch (error) {
    throw missingDependency(error, spec, configDir) ?? error;
  }
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
      throw new ConfigError(
        `cannot find plugin package "${name}": install it next to the config (npm i ${name})`,
      );
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
  const at = `actions[${index}].with`;
  if (plugin.kind === "broken") return [];
  if (plugin.kind === "file") {
    // An Auth0 action reads event.secrets, never options: `with` here would be dropped without a word.
    if (Object.keys(action.with).length === 0) return [];
    return [
      {
        path: at,
        message: `"${action.plugin}" is an Auth0 Event Stream Action file (onExecuteEventStream), which takes no options: pass values as \`secrets\` (event.secrets)`,
      },
    ];
  }
  if (!plugin.schema) return [];
  try {
    validateOptions(plugin.name, plugin.schema, action.with);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) {
      const known = optionKeys(plugin.schema);
      return error.issues.flatMap((issue) => {
        const base = `${at}${issue.path ? `.${issue.path}` : ""}`;
        const unknown = UNRECOGNIZED.exec(issue.message);
        if (!unknown) return [{ path: base, message: missingOption(issue) ?? issue.message }];
        // One issue per unknown key, at the key itself, so that it gets its own line number and suggestion.
        return [...unknown[1]!.matchAll(/"([^"]*)"/g)].map(([, key]) => {
          const guess = issue.path ? undefined : closest(key!, known);
          return {
            path: `${base}.${key}`,
            message: `unknown option "${key}"${guess ? ` (did you mean "${guess}"?)` : ""}`,
          };
        });
      });
    }
    throw error;
  }
}

/** zod's wording for keys a strict object does not know. */
const UNRECOGNIZED = /^Unrecognized keys?: (.*)$/;

/** The option names a plugin's schema knows, when it is a zod object (the bundled plugins' are). */
function optionKeys(schema: StandardSchemaV1): string[] {
  const shape = (schema as { shape?: unknown }).shape;
  return shape && typeof shape === "object" ? Object.keys(shape) : [];
}

/** The known name nearest to `key` by edit distance, when it is near enough to be a typo. */
export function closest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const name of known) {
    const d = editDistance(key.toLowerCase(), name.toLowerCase());
    if (d < bestDistance) {
      best = name;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(best.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length]!;
}
