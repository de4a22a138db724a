import { readFile } from "node:fs/promises";
import { basename, dirname, extname, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { ConfigError, type ConfigIssue } from "@switchyard/core";
import { LineCounter, parseDocument } from "yaml";
import type { z } from "zod";
import { isPostgresUrl, redactUrl } from "../store/postgres/url.js";
import { type Coercion, interpolateEnv, restoreStrings, WANTS_STRING } from "./env.js";
import { configSchema, type SwitchyardConfig } from "./schema.js";
import { collectSecrets } from "./secrets.js";
import { tlsIssues } from "./tls.js";

/** A validated config and where it came from. */
export interface LoadedConfig {
  config: SwitchyardConfig;
  /** Absolute path of the config file ("<demo>" for the embedded demo). */
  file: string;
  /** Folder that relative paths (plugins, state) resolve against. */
  dir: string;
  /** Where the state is: a SQLite folder, or a PostgreSQL database shared by replicas. */
  state: StateLocation;
  /** Absolute path of the SQLite state folder; for Postgres, the URL without its password (for messages). */
  stateDir: string;
  /** Every secret value in the config, for redaction. */
  secrets: string[];
  /** Where a field is written in the file (`:line:col`), for errors found after loading (plugin options). */
  locate?: Locate;
  /** Fields whose `${VAR}` value was read as a number or boolean, for a plugin schema that wants a string. */
  coerced?: Coercion[];
}

/** `state:` of a config: a folder (SQLite) or a `postgres://`/`postgresql://` URL (after `${VAR}` substitution). */
export type StateLocation = { engine: "sqlite"; dir: string } | { engine: "postgres"; url: string };

const TS = new Set([".ts", ".mts", ".cts"]);
const JS = new Set([".js", ".mjs", ".cjs"]);

/** Where a field of the config file is written: `:line:col`, or "" when unknown (a TS/JS config). */
export type Locate = (at: Array<string | number>) => string;

/** A config file as parsed, before interpolation and validation. */
export interface RawConfig {
  raw: unknown;
  /** Absolute path of the file. */
  path: string;
  locate: Locate;
}

/** Read, interpolate and validate a config file (YAML, or a TS/JS module default-exporting `defineConfig`). */
export async function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): Promise<LoadedConfig> {
  const { raw, path, locate } = await readConfig(file);
  return finishConfig(raw, path, env, locate);
}

/** Read and parse a config file, remembering where each field is written. */
export async function readConfig(file: string): Promise<RawConfig> {
  const path = resolve(file);
  const ext = extname(path).toLowerCase();
  let raw: unknown;
  let locate: Locate = () => "";
  if (TS.has(ext) || JS.has(ext)) {
    raw = await importConfigModule(path);
  } else {
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (error) {
      throw new ConfigError(
        `${path}: cannot read the config file (${(error as NodeJS.ErrnoException).code ?? error})`,
      );
    }
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true });
    if (doc.errors.length > 0) {
      const first = doc.errors[0]!;
      const at = first.linePos?.[0];
      // `{ port: ${PORT} }`: in a flow map `{` starts a nested map, so an unquoted `${…}` is a YAML error.
      const line = at ? (text.split("\n")[at.line - 1] ?? "") : "";
      const hint = /\{[^}]*\$\{/.test(line)
        ? ' (inside { … } quote each ${…}: { port: "${PORT}" }; a quoted number still reads as a number)'
        : "";
      throw new ConfigError(
        `${path}${at ? `:${at.line}:${at.col}` : ""}: invalid YAML: ${first.message.split("\n")[0]}${hint}`,
      );
    }
    try {
      raw = doc.toJS({ maxAliasCount: 100 });
    } catch (error) {
      throw new ConfigError(`${path}: invalid YAML: ${(error as Error).message}`);
    }
    locate = (at) => {
      for (let depth = at.length; depth > 0; depth--) {
        const node = doc.getIn(at.slice(0, depth), true) as { range?: [number, number, number] } | undefined;
        if (node?.range) {
          const pos = lines.linePos(node.range[0]);
          return `:${pos.line}:${pos.col}`;
        }
      }
      return "";
    };
  }
  return { raw, path, locate };
}

/** Validate an in-memory config (the embedded demo, tests) as if it came from `file`. */
export function finishConfig(
  raw: unknown,
  file: string,
  env: NodeJS.ProcessEnv = process.env,
  locate: (at: Array<string | number>) => string = () => "",
): LoadedConfig {
  const { value, problems, fromEnv, coerced } = interpolateEnv(raw, env);
  const issues: ConfigIssue[] = problems.map((p) => ({
    path: formatPath(p.path),
    message: `environment variable ${p.variable} is not set (use \${${p.variable}:-default} for a default)`,
  }));
  const locations = new Map<string, string>();
  for (const p of problems) locations.set(formatPath(p.path), locate(p.path));
  let parsed = configSchema.safeParse(value);
  // A `${VAR}` read as a number where a string is wanted becomes its text again (nested fields may need a
  // second round: the first failure can hide them).
  for (let round = 0; !parsed.success && round < 3; round++) {
    const wanted = new Set(
      parsed.error.issues.filter((i) => WANTS_STRING.test(i.message)).map((i) => formatPath(i.path)),
    );
    if (restoreStrings(value, coerced, (path) => wanted.has(formatPath(path))) === 0) break;
    parsed = configSchema.safeParse(value);
  }
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const path = formatPath(issue.path as Array<string | number>);
      if (issues.some((known) => known.path === path)) continue;
      issues.push({ path, message: describeZodIssue(issue) });
      locations.set(path, locate(issue.path as Array<string | number>));
    }
  }
  const dir = file.startsWith("<") ? process.cwd() : dirname(file);
  if (parsed.success) {
    const { source, sources } = parsed.data;
    const webhooks: Array<[Array<string | number>, NonNullable<typeof source>["webhook"]]> = source
      ? [[["source"], source.webhook]]
      : (sources ?? []).map((entry, index) => [["sources", index], entry.webhook]);
    for (const [at, webhook] of webhooks) {
      if (!webhook?.tls) continue;
      for (const issue of tlsIssues(webhook.tls, dir)) {
        const path = [...at, "webhook", "tls", issue.field];
        issues.push({ path: formatPath(path), message: issue.message });
        locations.set(formatPath(path), locate(path));
      }
    }
  }
  if (issues.length > 0) {
    const lines = issues.map(
      (i) => `  ${file}${locations.get(i.path) ?? ""}: ${i.path || "(top level)"}: ${i.message}`,
    );
    throw new ConfigError(`invalid config ${basename(file)}:\n${lines.join("\n")}`, issues);
  }
  const config = parsed.data!;
  const state: StateLocation = isPostgresUrl(config.state)
    ? { engine: "postgres", url: config.state }
    : { engine: "sqlite", dir: resolve(dir, config.state) };
  const secrets = collectSecrets(config, fromEnv);
  return {
    config,
    file,
    dir,
    state,
    stateDir: state.engine === "sqlite" ? state.dir : redactUrl(state.url),
    secrets,
    locate,
    coerced,
  };
}

async function importConfigModule(path: string): Promise<unknown> {
  try {
    const mod = TS.has(extname(path).toLowerCase())
      ? await (await import("tsx/esm/api")).tsImport(pathToFileURL(path).href, import.meta.url)
      : await import(pathToFileURL(path).href);
    const value = (mod as { default?: unknown }).default ?? mod;
    // A CommonJS-compiled `export default` arrives wrapped once more.
    return (value as { default?: unknown }).default ?? value;
  } catch (error) {
    throw new ConfigError(`${path}: cannot load the config module: ${(error as Error).message}`);
  }
}

/** `actions[0].with.token` */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  return path.reduce<string>((acc, key) => {
    if (typeof key === "number") return `${acc}[${key}]`;
    return acc ? `${acc}.${String(key)}` : String(key);
  }, "");
}

function describeZodIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === "invalid_type" && /received undefined/.test(issue.message)) return "is required";
  if (issue.code === "unrecognized_keys")
    return `unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(", ")}`;
  return issue.message;
}
