import { join } from "node:path";
import { startFakeTenant } from "@switchyard/testing";
import { finishConfig, type LoadedConfig, readConfig } from "./config/load.js";
import { subscribedTypes } from "./sources/auth0-stream.js";

/** The order the demo's events come in: mostly users and memberships, as a real tenant's, with the rest mixed in. */
export const DEMO_MIX = [
  "user.created",
  "user.updated",
  "organization.member.added",
  "user.created",
  "group.created",
  "organization.created",
  "user.updated",
  "connection.updated",
  "organization.member.role.assigned",
  "user.deleted",
  "group.member.added",
  "organization.updated",
];

/** A fake Auth0 tenant on 127.0.0.1 appending realistic events at a steady rate (no credentials needed). */
export async function startTrickleTenant(options: {
  eventsPerSecond: number;
  types?: readonly string[] | undefined;
  port?: number | undefined;
}) {
  const tenant = await startFakeTenant({
    heartbeatMs: 5_000,
    ...(options.port !== undefined ? { port: options.port } : {}),
  });
  const stop = tenant.startTrickle(options.eventsPerSecond, { types: options.types ?? DEMO_MIX });
  return {
    url: tenant.url,
    clientId: tenant.clientId,
    clientSecret: tenant.clientSecret,
    async close() {
      stop();
      await tenant.close();
    },
  };
}

export type TrickleTenant = Awaited<ReturnType<typeof startTrickleTenant>>;

/**
 * `start --config FILE --fake-tenant`: the config's actions as written, its source replaced by the fake
 * tenant (so no `AUTH0_*` variable is needed), and its state in a folder of its own beside the config, so
 * fake events and their cursor never mix with the real tenant's.
 */
export async function loadWithFakeTenant(
  file: string,
  tenant: { url: string; clientId: string; clientSecret: string },
  env: NodeJS.ProcessEnv = process.env,
): Promise<LoadedConfig> {
  const { raw, path, locate } = await readConfig(file);
  const auth0 = { domain: tenant.url, clientId: tenant.clientId, clientSecret: tenant.clientSecret };
  const replaced =
    raw && typeof raw === "object" ? withFakeSources(raw as Record<string, unknown>, auth0) : raw;
  const loaded = finishConfig(replaced, path, env, locate);
  const dir = fakeTenantState(loaded.dir);
  return {
    ...loaded,
    state: { engine: "sqlite", dir },
    stateDir: dir,
    config: { ...loaded.config, state: dir },
  };
}

/**
 * The config with its sources replaced by the fake tenant's stream: the single `source`, or each tenant of
 * `sources` (keeping its name, which actions' `tenants` select), every one reading the same fake events.
 */
function withFakeSources(
  raw: Record<string, unknown>,
  auth0: Record<string, string>,
): Record<string, unknown> {
  if (!Array.isArray(raw.sources)) return { ...raw, source: { auth0 } };
  const sources = raw.sources.map((entry: unknown) => ({
    tenant: (entry as { tenant?: unknown } | null)?.tenant,
    auth0,
  }));
  return { ...raw, sources };
}

/** The fake tenant's place when only the rest of the config matters (its state, its actions). */
export const FAKE_TENANT_STAND_IN = {
  url: "http://127.0.0.1:1",
  clientId: "-",
  clientSecret: "(not loaded)",
};

/** Where `--fake-tenant` keeps its state: beside the config, apart from the real one. */
export const fakeTenantState = (configDir: string) => join(configDir, ".switchyard", "fake-tenant");

/** The event types to trickle for a config: the exact types its actions take, else the demo's mix. */
export function trickleTypes(loaded: LoadedConfig): readonly string[] {
  const types = subscribedTypes(loaded.config.actions);
  return types && types.length > 0 ? types : DEMO_MIX;
}
