import { existsSync } from "node:fs";
import { basename, resolve } from "node:path";
import { ConfigError } from "@switchyard/core";
import type { Command } from "commander";
import { type LoadedConfig, loadConfig } from "../config/load.js";
import { tenantSources } from "../config/schema.js";
import { loadStateConfig } from "../config/state-config.js";
import { DEMO_CONFIG } from "../demo.js";

const DEFAULT_CONFIGS = [
  "switchyard.yaml",
  "switchyard.yml",
  "switchyard.config.ts",
  "switchyard.config.js",
  "switchyard.config.mjs",
];

/** `--config FILE`, else the first default config file in the current folder. */
export function configPath(option: string | undefined): string {
  if (option) return resolve(option);
  const found = DEFAULT_CONFIGS.find((name) => existsSync(name));
  if (!found) throw new ConfigError(`no config file: pass --config FILE or create ./switchyard.yaml`);
  return resolve(found);
}

/** The demo's state folder, under the current directory. */
export const demoState = () => resolve(".switchyard", "demo");

/** The demo config outside `start --demo`: only its state folder matters, so the fakes' addresses are stand-ins. */
export const demoEnv = () => ({
  ...process.env,
  SWITCHYARD_DEMO_TENANT: "http://127.0.0.1:1",
  SWITCHYARD_DEMO_CLIENT_ID: "demo",
  SWITCHYARD_DEMO_CLIENT_SECRET: "demo",
  SWITCHYARD_DEMO_RECEIVER: "http://127.0.0.1:1",
  SWITCHYARD_DEMO_STATE: demoState(),
});

export interface ConfigOptions {
  config?: string;
  demo?: boolean;
}

/** The whole config, every `${VAR}` resolved and every field checked (`start`, `validate`). */
export async function loadFullConfig(options: ConfigOptions): Promise<LoadedConfig> {
  if (options.demo) return loadConfig(DEMO_CONFIG, demoEnv());
  return loadConfig(configPath(options.config));
}

/** Only what the state commands need (`dlq`, `actions`, `send-test`): see `loadStateConfig`. */
export async function loadConfigForState(options: ConfigOptions): Promise<LoadedConfig> {
  if (options.demo) return loadStateConfig(DEMO_CONFIG, demoEnv());
  return loadStateConfig(configPath(options.config));
}

/** `--config` and `--demo`, which every command that reads a config takes. */
export const withConfig = (command: Command) =>
  command
    .option("-c, --config <file>", "config file (default: ./switchyard.yaml)")
    .option("--demo", "use the embedded demo's config and state");

/** Refuse a `--tenant` the config does not list (a typo would select nothing, silently). */
export function requireTenant(loaded: LoadedConfig, name: string | undefined): void {
  if (name === undefined) return;
  const names = tenantSources(loaded.config).map((source) => source.tenant);
  if (names.includes(name)) return;
  throw new ConfigError(
    `unknown tenant "${name}": ${basename(loaded.file)} configures ${names.map((n) => `"${n}"`).join(", ")}`,
  );
}

/** The configured action called `name`; any other name exits 2 with the configured ones, before any write. */
export function requireAction(loaded: LoadedConfig, name: string | undefined): void {
  if (name === undefined) return;
  const names = loaded.config.actions.map((a) => a.name);
  if (names.includes(name)) return;
  throw new ConfigError(
    `unknown action "${name}": ${basename(loaded.file)} configures ${names.map((n) => `"${n}"`).join(", ")}`,
  );
}
