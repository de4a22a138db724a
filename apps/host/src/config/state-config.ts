import { finishConfig, type LoadedConfig, readConfig } from "./load.js";

/**
 * The action fields that decide which events an action gets and how its deliveries are ordered, and its
 * pacing, which `actions list` shows (no credentials in either).
 */
const ACTION_FIELDS = [
  "name",
  "plugin",
  "events",
  "tenants",
  "orderBy",
  "testEvents",
  "enabled",
  "rateLimit",
  "circuitBreaker",
] as const;

/** Never read: the state commands do not connect to the tenant. */
const SOURCE_STAND_IN = { auth0: { domain: "(not loaded)", token: "(not loaded)" } };

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

function pick(value: unknown, keys: readonly string[]): unknown {
  if (!isObject(value)) return value;
  return Object.fromEntries(keys.filter((key) => key in value).map((key) => [key, value[key]]));
}

/**
 * The part of a config raw that the state commands (`dlq`, `actions`, `send-test`) need: the state folder,
 * the store's durability and each action's name, patterns, ordering, switches and pacing, at the same paths so that
 * errors still point at the file's lines. Everything else (credentials, plugin options, secrets) is left out.
 */
export function stateFields(raw: unknown): unknown {
  if (!isObject(raw)) return raw;
  const delivery = isObject(raw.delivery) ? pick(raw.delivery, ["synchronous"]) : raw.delivery;
  // The tenants' names stay (`--tenant` selects by them); their credentials are not read.
  const sources = Array.isArray(raw.sources)
    ? raw.sources.map((entry) => ({ ...SOURCE_STAND_IN, tenant: isObject(entry) ? entry.tenant : entry }))
    : undefined;
  return {
    ...(sources ? { sources } : { source: SOURCE_STAND_IN }),
    ...("state" in raw ? { state: raw.state } : {}),
    ...(delivery === undefined ? {} : { delivery }),
    actions: Array.isArray(raw.actions) ? raw.actions.map((a) => pick(a, ACTION_FIELDS)) : raw.actions,
  };
}

/**
 * Load a config for the commands that only read and change the state: `${VAR}` is substituted and the
 * structure checked only where they look (see `stateFields`), so an operator can list dead letters or pause
 * an action without the tenant's or the plugins' credentials. The result's `source` is a stand-in and its
 * actions have no `with` or `secrets`: never start a host from it (`validate` and `start` load it all).
 */
export async function loadStateConfig(
  file: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<LoadedConfig> {
  const { raw, path, locate } = await readConfig(file);
  return finishConfig(stateFields(raw), path, env, locate);
}
