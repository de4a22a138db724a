#!/usr/bin/env node
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import v8 from "node:v8";
import { ConfigError, describeError, patternError } from "@switchyard/core";
import { Command, InvalidArgumentError } from "commander";
import { stringify } from "yaml";
import { registerNewPlugin } from "./commands/new-plugin.js";
import { registerRunAction } from "./commands/run-action.js";
import { type LoadedConfig, loadConfig } from "./config/load.js";
import { createRedactor, redactConfig } from "./config/secrets.js";
import { DEMO_CONFIG, startDemo } from "./demo.js";
import { startHost } from "./host.js";
import { resolveActions } from "./plugins/resolve-actions.js";
import { sendTestEvent } from "./send-test.js";
import { openStore } from "./store/open.js";

const DEFAULT_CONFIGS = [
  "switchyard.yaml",
  "switchyard.yml",
  "switchyard.config.ts",
  "switchyard.config.js",
  "switchyard.config.mjs",
];

function configPath(option: string | undefined): string {
  if (option) return resolve(option);
  const found = DEFAULT_CONFIGS.find((name) => existsSync(name));
  if (!found) throw new ConfigError(`no config file: pass --config FILE or create ./switchyard.yaml`);
  return resolve(found);
}

/** The demo's state folder, under the current directory. */
const demoState = () => resolve(".switchyard", "demo");
/** The demo config outside `start --demo`: only its state folder matters, so the fakes' addresses are stand-ins. */
const demoEnv = () => ({
  ...process.env,
  SWITCHYARD_DEMO_TENANT: "http://127.0.0.1:1",
  SWITCHYARD_DEMO_CLIENT_ID: "demo",
  SWITCHYARD_DEMO_CLIENT_SECRET: "demo",
  SWITCHYARD_DEMO_RECEIVER: "http://127.0.0.1:1",
  SWITCHYARD_DEMO_STATE: demoState(),
});

interface ConfigOptions {
  config?: string;
  demo?: boolean;
}

async function load(options: ConfigOptions): Promise<LoadedConfig> {
  if (options.demo) return loadConfig(DEMO_CONFIG, demoEnv());
  return loadConfig(configPath(options.config));
}

const program = new Command()
  .name("switchyard")
  .description(
    "Route your Auth0 tenant's events to Slack, Segment, HTTP endpoints and your own actions, durably.",
  )
  .version("0.1.0")
  .showHelpAfterError("(run with --help for usage)");

const withConfig = (command: Command) =>
  command
    .option("-c, --config <file>", "config file (default: ./switchyard.yaml)")
    .option("--demo", "use the embedded demo's config and state");

withConfig(
  program.command("start").description("consume the event stream and deliver events to the actions"),
).action(async (options: ConfigOptions) => {
  keepHeapTight();
  let demo: Awaited<ReturnType<typeof startDemo>> | undefined;
  let loaded: LoadedConfig;
  if (options.demo) {
    demo = await startDemo({
      stateDir: demoState(),
      eventsPerSecond: Number(process.env.SWITCHYARD_DEMO_RATE ?? 2),
    });
    loaded = await loadConfig(DEMO_CONFIG, { ...process.env, ...demo.env });
    process.stderr.write(
      [
        "",
        "  Switchyard demo: no tenant or credentials needed.",
        `  A fake Auth0 tenant at ${demo.tenantUrl} emits events; the host delivers them to three actions:`,
        "    console    prints one line per event",
        `    warehouse  POSTs signed events to a local receiver (${demo.receiverUrl}) that is busy now and then`,
        "               (503: retried) and refuses group events (410: dead-lettered)",
        "    welcome    an unchanged Auth0 Event Stream Action (apps/host/demo/actions/welcome.js)",
        "  In another terminal: `pnpm exec switchyard dlq list --demo` shows the dead letters.",
        "  Ctrl-C stops it.",
        "",
      ].join("\n"),
    );
  } else {
    loaded = await load(options);
  }
  const host = await startHost(loaded);
  if (demo && host.port !== undefined) {
    process.stderr.write(`  Metrics: curl http://${loaded.config.server.host}:${host.port}/metrics\n\n`);
  }
  let signals = 0;
  const shutdown = (signal: string) => {
    signals++;
    if (signals > 1) {
      host.log.warn({ signal }, "second signal: exiting now");
      process.exit(130);
    }
    host.log.info({ signal }, "shutting down");
    void host
      .stop()
      .then(() => demo?.close())
      .then(() => process.exit(0));
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
  await host.done.catch(async () => {
    await demo?.close();
    process.exit(1);
  });
});

withConfig(program.command("validate").description("check the config and every action's plugin and options"))
  .option("--print", "print the resolved config, secrets redacted")
  .action(async (options: ConfigOptions & { print?: boolean }) => {
    const loaded = await load(options);
    await resolveActions(loaded);
    const redact = createRedactor(loaded.secrets);
    if (options.print) process.stdout.write(stringify(redactConfig(loaded.config, redact)));
    process.stdout.write(`${loaded.file}: valid (${loaded.config.actions.length} actions)\n`);
  });

const dlq = program.command("dlq").description("inspect and replay dead-lettered deliveries");
withConfig(dlq.command("list").description("list dead-lettered deliveries"))
  .option("--json", "print a JSON array")
  .option("-a, --action <name>", "only this action")
  .action(async (options: ConfigOptions & { json?: boolean; action?: string }) => {
    const loaded = await load(options);
    const store = await openStore(loaded);
    try {
      const dead = await store.listDead({ action: options.action });
      if (options.json) {
        process.stdout.write(`${JSON.stringify(dead, null, 2)}\n`);
        return;
      }
      if (dead.length === 0) {
        process.stdout.write("no dead letters\n");
        return;
      }
      for (const d of dead) {
        process.stdout.write(
          `${d.failedAt}  ${d.action}  ${d.eventType}  ${d.eventId}  attempts=${d.attempts}\n    ${d.lastError}\n`,
        );
      }
      process.stdout.write(
        `${dead.length} dead letter(s); replay with: switchyard dlq replay [--action A] [--event ID]\n`,
      );
    } finally {
      await store.close();
    }
  });
withConfig(
  dlq.command("replay").description("deliver dead-lettered deliveries again (a running host picks them up)"),
)
  .option("-a, --action <name>", "only this action")
  .option("-e, --event <id>", "only this event id")
  .action(async (options: ConfigOptions & { action?: string; event?: string }) => {
    const loaded = await load(options);
    const store = await openStore(loaded);
    try {
      const count = await store.replayDead({ action: options.action, eventId: options.event }, Date.now());
      process.stdout.write(`${count} delivery(ies) queued again\n`);
    } finally {
      await store.close();
    }
  });

withConfig(
  program
    .command("send-test")
    .description('inject a realistic test event (a0purpose: "test") for the running host to deliver')
    .argument("<type>", "event type, e.g. user.created", (value) => {
      const error = patternError(value);
      if (error || value.includes("*")) throw new InvalidArgumentError(error ?? "give an exact event type");
      return value;
    }),
).action(async (type: string, options: ConfigOptions) => {
  const loaded = await load(options);
  const result = await sendTestEvent(loaded, type);
  process.stdout.write(
    result.actions.length > 0
      ? `queued test event ${result.eventId} (${type}) for: ${result.actions.join(", ")}\n`
      : `test event ${result.eventId} (${type}) matches no action that takes test events\n`,
  );
  for (const f of result.filtered) {
    process.stdout.write(`  filtered out by actions[${f.index}].filter (${f.action}): ${f.reason}\n`);
  }
});

registerNewPlugin(program);
registerRunAction(program);
program.parseAsync().catch((error: unknown) => {
  const message = error instanceof ConfigError ? error.message : `error: ${describeError(error)}`;
  process.stderr.write(`${message}\n`);
  process.exit(error instanceof ConfigError ? 2 : 1);
});

/**
 * A host allocates fast (every event is parsed, every attempt makes a few objects), and by default V8 lets
 * the heap grow to about twice what is live before a full collection: draining a large backlog then peaks
 * around 220 MB of RSS. SWITCHYARD_HEAP_GROWTH_PERCENT (default 50) lets the heap grow only that much past
 * what is live: ~160 MB, at no measurable cost in CPU per delivery (20% did cost ~20% of throughput); 0
 * leaves V8's own rule.
 */
function keepHeapTight(): void {
  const percent = Number(process.env.SWITCHYARD_HEAP_GROWTH_PERCENT ?? 50);
  if (Number.isInteger(percent) && percent > 0) v8.setFlagsFromString(`--heap-growing-percent=${percent}`);
}
