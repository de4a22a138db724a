import { dirname, isAbsolute, join, relative } from "node:path";
import type { LoadedConfig } from "./config/load.js";
import { DEMO_CONFIG } from "./demo.js";

/**
 * How to run this CLI again from where it runs now: `pnpm exec switchyard` in a pnpm project, `npx
 * switchyard` after `npm i @switchyard/host`, plain `switchyard` when installed globally.
 */
export function cliCommand(env: NodeJS.ProcessEnv = process.env, bin = process.argv[1] ?? ""): string {
  const agent = env.npm_config_user_agent ?? "";
  if (agent.startsWith("pnpm/")) return "pnpm exec switchyard";
  if (agent.startsWith("yarn/")) return "yarn switchyard";
  if (agent.startsWith("npm/") || bin.includes("node_modules")) return "npx switchyard";
  return "switchyard";
}

/** A path as the person at this terminal can open it: relative to here when below here, else absolute. */
function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel.startsWith("..") || isAbsolute(rel) ? path : rel;
}

/** What `start --demo` prints before its host starts. */
export function demoBanner(demo: { tenantUrl: string; receiverUrl: string }): string {
  const welcome = shown(join(dirname(DEMO_CONFIG), "actions", "welcome.js"));
  return [
    "",
    "  Switchyard demo: no tenant or credentials needed.",
    `  A fake Auth0 tenant at ${demo.tenantUrl} emits events; the host delivers them to three actions:`,
    "    console    prints one line per event",
    `    warehouse  POSTs signed events to a local receiver (${demo.receiverUrl}) that is busy now and then`,
    "               (503: retried) and refuses each group event once (410: dead-lettered; a replay delivers it)",
    `    welcome    an unchanged Auth0 Event Stream Action (${welcome})`,
    `  In another terminal: \`${cliCommand()} dlq list --demo\` lists the dead letters.`,
    "  Ctrl-C stops it.",
    "",
  ].join("\n");
}

/** What `start --config FILE --fake-tenant` prints before its host starts. */
export function fakeTenantBanner(loaded: LoadedConfig, tenantUrl: string): string {
  const actions = loaded.config.actions.filter((a) => a.enabled).map((a) => a.name);
  const config = shown(loaded.file);
  return [
    "",
    `  Switchyard with a fake tenant: ${config}'s actions (${actions.join(", ")}) on fake events.`,
    `  A fake Auth0 tenant at ${tenantUrl} emits realistic events; nothing is read from your tenant.`,
    `  State: ${shown(loaded.stateDir)} (apart from your real state).`,
    `  Edit the config, then \`${cliCommand()} reload --config ${config} --fake-tenant\` applies it (or send SIGHUP).`,
    "  Ctrl-C stops it.",
    "",
  ].join("\n");
}
