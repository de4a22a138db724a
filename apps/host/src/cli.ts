#!/usr/bin/env node
import { mkdirSync } from "node:fs";
import v8 from "node:v8";
import { ConfigError, describeError } from "@switchyard/core";
import { Command, CommanderError } from "commander";
import { stringify } from "yaml";
import { demoBanner, fakeTenantBanner } from "./banners.js";
import { registerActions } from "./commands/actions.js";
import { registerAudit } from "./commands/audit.js";
import {
  type ConfigOptions,
  configPath,
  demoState,
  loadFullConfig,
  withConfig,
} from "./commands/config-options.js";
import { registerDlq } from "./commands/dlq.js";
import { registerFakeTenant } from "./commands/fake-tenant.js";
import { registerNewPlugin } from "./commands/new-plugin.js";
import { registerReload } from "./commands/reload.js";
import { registerRunAction } from "./commands/run-action.js";
import { registerSchema } from "./commands/schema.js";
import { registerSendTest } from "./commands/send-test.js";
import { describeUnknownType, unknownEventTypes } from "./config/event-warnings.js";
import { type LoadedConfig, loadConfig } from "./config/load.js";
import { createRedactor, redactConfig } from "./config/secrets.js";
import { DEMO_CONFIG, startDemo } from "./demo.js";
import { exitCodeOf } from "./exit-code.js";
import { FAKE_TENANT_STAND_IN, loadWithFakeTenant, startTrickleTenant, trickleTypes } from "./fake-tenant.js";
import { consoleUrl, startHost } from "./host.js";
import { lockStateDir, StateInUseError } from "./lock.js";
import { resolveActions } from "./plugins/resolve-actions.js";
import { takeReloadRequest } from "./reload-request.js";
import { VERSION } from "./version.js";

/** Throw the lock's own message when another host uses `dir`; leave the lock free otherwise. */
function probeStateLock(dir: string): void {
  mkdirSync(dir, { recursive: true });
  lockStateDir(dir)();
}

const program = new Command()
  .name("switchyard")
  .description(
    "Route your Auth0 tenant's events to Slack, Segment, HTTP endpoints and your own actions, durably.",
  )
  .version(VERSION)
  .showHelpAfterError("(run with --help for usage)")
  // Usage errors (an unknown option, a bad --since) come back here as a CommanderError, to exit 2 as every
  // other bad input does; set before the subcommands are added, which inherit it.
  .exitOverride();

withConfig(program.command("start").description("consume the event stream and deliver events to the actions"))
  .option(
    "--fake-tenant",
    "your config's actions on events from a fake tenant on 127.0.0.1 (no credentials; its own state beside the config)",
  )
  .action(async (options: ConfigOptions & { fakeTenant?: boolean }) => {
    keepHeapTight();
    // SIGHUP's default ends the process: from here on it means "re-read the config", even while starting.
    let reload: (() => void) | undefined;
    let hangupWhileStarting = false;
    process.on("SIGHUP", () => {
      if (reload) reload();
      else hangupWhileStarting = true;
    });
    let fakes: { close(): Promise<void> } | undefined;
    let load: () => Promise<LoadedConfig>;
    if (options.demo) {
      // Fail before the demo's tenant starts and prints its banner when another host holds the state.
      probeStateLock(demoState());
      const demo = await startDemo({
        stateDir: demoState(),
        eventsPerSecond: Number(process.env.SWITCHYARD_DEMO_RATE ?? 2),
      });
      fakes = demo;
      load = () => loadConfig(DEMO_CONFIG, { ...process.env, ...demo.env });
      process.stderr.write(demoBanner(demo));
    } else if (options.fakeTenant) {
      const file = configPath(options.config);
      const probe = await loadWithFakeTenant(file, FAKE_TENANT_STAND_IN);
      probeStateLock(probe.stateDir);
      const tenant = await startTrickleTenant({
        eventsPerSecond: Number(process.env.SWITCHYARD_DEMO_RATE ?? 2),
        types: trickleTypes(probe),
      });
      fakes = tenant;
      load = () => loadWithFakeTenant(file, tenant);
      process.stderr.write(fakeTenantBanner(probe, tenant.url));
    } else {
      load = () => loadFullConfig(options);
    }
    const loaded = await load();
    const host = await startHost(loaded);
    if (fakes && host.port !== undefined) {
      const url = consoleUrl(loaded.config.server.host, host.port);
      process.stderr.write(
        `  Console: ${url}  (deliveries, dead letters with replay, pause and resume)\n  Metrics: curl ${url}metrics\n\n`,
      );
    }
    let reloading = Promise.resolve();
    reload = () => {
      reloading = reloading.then(async () => {
        // `switchyard reload` says who asked (reload-request.ts); a bare signal is `signal:SIGHUP`.
        const asked = loaded.state.engine === "sqlite" ? takeReloadRequest(loaded.state.dir) : undefined;
        const actor = asked ?? "signal:SIGHUP";
        host.log.info({ signal: "SIGHUP", file: loaded.file, actor }, "reloading the config");
        try {
          await host.reload(await load(), actor);
        } catch (error) {
          const reason = error instanceof ConfigError ? error.message : describeError(error);
          host.log.error({ reason }, "config reload refused: the running config is kept");
        }
      });
    };
    if (hangupWhileStarting) reload();
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
        .then(() => fakes?.close())
        .then(() => process.exit(0));
    };
    process.on("SIGTERM", () => shutdown("SIGTERM"));
    process.on("SIGINT", () => shutdown("SIGINT"));
    await host.done.catch(async () => {
      await fakes?.close();
      process.exit(1);
    });
  });

withConfig(program.command("validate").description("check the config and every action's plugin and options"))
  .option("--print", "print the resolved config, secrets redacted")
  .action(async (options: ConfigOptions & { print?: boolean }) => {
    const loaded = await loadFullConfig(options);
    await resolveActions(loaded);
    const warnings = unknownEventTypes(loaded);
    for (const w of warnings) {
      process.stderr.write(`  ${loaded.file}${w.at}: ${w.path}: warning: ${describeUnknownType(w)}\n`);
    }
    const redact = createRedactor(loaded.secrets);
    if (options.print) process.stdout.write(stringify(redactConfig(loaded.config, redact)));
    const warned = warnings.length > 0 ? `, ${warnings.length} warning${warnings.length > 1 ? "s" : ""}` : "";
    process.stdout.write(`${loaded.file}: valid (${loaded.config.actions.length} actions${warned})\n`);
  });

registerNewPlugin(program);
registerRunAction(program);
registerDlq(program);
registerActions(program);
registerAudit(program);
registerSendTest(program);
registerSchema(program);
registerReload(program);
registerFakeTenant(program);
program.parseAsync().catch((error: unknown) => {
  // Commander has printed its own message (or the help, or the version) already.
  if (!(error instanceof CommanderError)) {
    const plain = error instanceof ConfigError || error instanceof StateInUseError;
    process.stderr.write(`${plain ? (error as Error).message : `error: ${describeError(error)}`}\n`);
  }
  process.exit(exitCodeOf(error));
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
