import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

/**
 * Switchyard's own plugins that the host does not depend on at run time (each brings a client library the host
 * should not carry: a broker's, the AWS SDK, a database driver). Their options enter `switchyard schema`
 * when they are installed, next to the config or beside the host; in this workspace they are the host's
 * devDependencies, so the committed switchyard.schema.json holds them all.
 */
export const FIRST_PARTY_PLUGINS: readonly string[] = [
  "@switchyard/plugin-eventbridge",
  "@switchyard/plugin-sqs",
  "@switchyard/plugin-sql",
  "@switchyard/plugin-nats",
  "@switchyard/plugin-rabbitmq",
  "@switchyard/plugin-redis",
];

/** The options schema of every first-party plugin that resolves from `dir` or from the host. */
export async function firstPartyOptionSchemas(dir = process.cwd()): Promise<Record<string, unknown>> {
  const found: Record<string, unknown> = {};
  for (const name of FIRST_PARTY_PLUGINS) {
    const mod = await importIfInstalled(name, dir);
    const schema = (mod?.default as { optionsSchema?: unknown } | undefined)?.optionsSchema;
    if (schema !== undefined) found[name] = schema;
  }
  return found;
}

async function importIfInstalled(name: string, dir: string): Promise<Record<string, unknown> | undefined> {
  let local: string | undefined;
  try {
    local = createRequire(join(dir, "package.json")).resolve(name);
  } catch {
    // Not next to the config: maybe beside the host.
  }
  try {
    return (await import(local ? pathToFileURL(local).href : name)) as Record<string, unknown>;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ERR_MODULE_NOT_FOUND") return undefined;
    throw error;
  }
}
