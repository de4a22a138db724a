import { mkdirSync } from "node:fs";
import { hostname } from "node:os";
import { describeError } from "@switchyard/core";
import { consoleHandler } from "./admin/static.js";
import type { LoadedConfig } from "./config/load.js";
import { retentionMs } from "./config/schema.js";
import { createRedactor } from "./config/secrets.js";
import { closeActions, createRunners } from "./engine/actions.js";
import { Backlog } from "./engine/backlog.js";
import { CompletionWriter } from "./engine/completions.js";
import { ActionControl } from "./engine/control.js";
import { HistoryWriter } from "./engine/history.js";
import { Ingest } from "./engine/ingest.js";
import { leadStream } from "./engine/leader.js";
import { Lifecycle } from "./engine/lifecycle.js";
import { startMaintenance } from "./engine/maintenance.js";
import { openState } from "./engine/open-state.js";
import { startReading, streamHooks } from "./engine/reader.js";
import { newStatus, readiness } from "./engine/status.js";
import { type CodeLocation, guardUncaught } from "./engine/uncaught.js";
import { lockStateDir } from "./lock.js";
import { createLogger, type HostLogger } from "./logger.js";
import { createMetrics } from "./metrics.js";
import type { ResolvedPlugin } from "./plugins/load.js";
import { resolveActions } from "./plugins/resolve-actions.js";
import { startOpsServer } from "./server.js";
import { auth0Source, type EventSource } from "./source.js";
import { startWebhookSource, type WebhookSourceOptions } from "./sources/webhook.js";
import { VERSION } from "./version.js";

export interface HostOptions {
  /** Where logs go (default stdout). */
  logDestination?: Parameters<typeof createLogger>[2];
  /** Replace the tenant stream (tests, benchmarks). */
  source?: EventSource;
  /** Give up starting (e.g. while waiting for an unreachable state database): `startHost` rejects. */
  signal?: AbortSignal;
}

export interface Host {
  /** The port of the ops server: /healthz, /readyz, /metrics, the API and the console (undefined when disabled). */
  port: number | undefined;
  log: HostLogger;
  /** Resolves when the host stopped cleanly; rejects with the fatal error that stopped it. */
  done: Promise<void>;
  /** Stop reading, let in-flight deliveries finish within the grace period, close plugins and the store. */
  stop(): Promise<void>;
}

/** Start the host: one stream in, every matching action out, durably. This function only wires the parts. */
export async function startHost(loaded: LoadedConfig, options: HostOptions = {}): Promise<Host> {
  const { config } = loaded;
  const redact = createRedactor(loaded.secrets);
  const log = createLogger(config.log.level, redact, options.logDestination, config.log.format);
  const plugins = await resolveActions(loaded, { keepBroken: true });
  const life = new Lifecycle(log, redact);
  life.defer(() => {
    log.info("stopped");
    log.flush();
  });
  try {
    // Before any port is bound: a second host on this state says so, not EADDRINUSE of the ops port.
    if (loaded.state.engine === "sqlite") {
      mkdirSync(loaded.state.dir, { recursive: true });
      life.defer(lockStateDir(loaded.state.dir));
    }
    const status = newStatus();
    const metrics = createMetrics();
    const ops = config.server.enabled
      ? await startOpsServer({
          host: config.server.host,
          port: config.server.port,
          registry: metrics.registry,
          readiness: () => readiness(status),
          adminToken: config.server.adminToken,
          redact,
          pages: consoleHandler(),
          onError: (error) => log.error({ err: error }, "an ops server request failed"),
          limits: config.server,
        })
      : undefined;
    if (ops) life.defer(() => ops.close());

    const opening = new AbortController();
    life.defer(() => opening.abort());
    options.signal?.addEventListener("abort", () => opening.abort(), { once: true });
    const store = await openState(loaded, log, opening.signal, (error) => life.fail(error));
    life.defer(() => store.close());
    status.storeWritable = true;
    metrics.readFrom(store);
    const recovered = await store.recover();
    const backlog = new Backlog(config.delivery.maxPending);
    backlog.reset(await store.countUnfinished());

    const shared = store.leadership !== undefined;
    const completions = new CompletionWriter(
      store,
      (error) =>
        shared
          ? log.error({ err: error }, "results not written to the state database: kept, written again in 1 s")
          : life.fail(
              new Error(
                `the state store cannot be written (${describeError(error)}): stopping so that nothing is lost`,
              ),
            ),
      { retry: shared },
    );
    life.defer(() => completions.flush());
    const historyRetentionMs = retentionMs(config.history.retention);
    const history =
      historyRetentionMs > 0
        ? new HistoryWriter(store, log, (count) => metrics.historyDropped.inc(count))
        : undefined;
    // Deferred before the runners' stop, so it runs after it: the last attempts are recorded too.
    if (history) life.defer(() => history.flush());
    const replica = store.replicaId ?? hostname();
    const deps = { store, completions, backlog, metrics, log, redact, history, replica };
    const { runners, actions } = await createRunners(loaded, plugins, deps);
    // Removed after the actions are closed (deferred first, run last): a plugin's close can throw late too.
    life.defer(guardUncaught({ log, metrics, redact, locations: codeLocations(loaded, plugins) }));
    life.defer(() => closeActions(actions, log));
    const control = new ActionControl({ ...deps, runners, actions: config.actions });
    await control.start();
    status.failedActions = runners.flatMap((r) => (r.failure !== undefined ? [r.name] : []));
    const dedupeWindowMs = config.delivery.dedupeWindowMs;
    life.defer(startMaintenance({ ...deps, runners, control, status, dedupeWindowMs, historyRetentionMs }));
    life.defer(() => Promise.all(runners.map((r) => r.stop(config.delivery.shutdownGraceMs))));
    for (const runner of runners) runner.start();

    const ingest = new Ingest({ ...deps, runners });
    const source = options.source ?? auth0Source(config);
    if (source) {
      const hooks = streamHooks(status, metrics, log, redact, source.describe);
      const leader = leadStream({
        leadership: store.leadership,
        status,
        metrics,
        log,
        fatal: (error) =>
          life.fail(
            new Error(
              `${error.message}: stopping so that nothing is lost; the stream resumes from the last stored cursor`,
            ),
          ),
        read: async (onFailure) =>
          startReading(
            {
              source,
              ingest,
              runners,
              backlog,
              hooks,
              cursor: await store.getCursor(),
              readAhead: shared,
              onBacklogFull: (unfinished) =>
                log.warn(
                  { unfinished },
                  "backpressure: the store holds its cap of unfinished deliveries, pausing the stream",
                ),
            },
            onFailure,
          ),
      });
      life.defer(() => leader.stop());
    }
    const webhook = config.source.webhook
      ? await startWebhookSource(
          config.source.webhook as WebhookSourceOptions,
          (events) => ingest.push(events),
          {
            log,
            registry: metrics.registry,
            onInvalid: (event) => metrics.invalid.labels(event.type).inc(),
            baseDir: loaded.dir,
          },
        )
      : undefined;
    if (webhook) life.defer(() => webhook.close());
    ops?.attach({
      loaded,
      store,
      status,
      metrics,
      control,
      replica,
      version: VERSION,
      streamConfigured: source !== undefined,
      webhookUrl: webhook?.url,
      ready: () => readiness(status).ready,
    });
    life.defer(() => log.info("stopping: no new events; finishing in-flight deliveries"));
    log.info(
      {
        sources: [source?.describe, webhook && `webhook ${webhook.url}`].filter(Boolean),
        actions: runners.map((r) => r.name),
        state: loaded.stateDir,
        recoveredInFlight: recovered,
        pending: backlog.unfinished,
        ...(ops
          ? {
              console: consoleUrl(config.server.host, ops.port),
              metrics: `${consoleUrl(config.server.host, ops.port)}metrics`,
            }
          : {}),
      },
      "switchyard started",
    );
    return { port: ops?.port, log, done: life.done, stop: () => life.stop() };
  } catch (error) {
    await life.stop();
    throw error;
  }
}

/** Where each action's code lives (its file, or its plugin's folder), to attribute its uncaught errors. */
function codeLocations(loaded: LoadedConfig, plugins: readonly ResolvedPlugin[]): CodeLocation[] {
  return loaded.config.actions.flatMap((action, index) => {
    const plugin = plugins[index];
    return plugin && plugin.kind !== "broken" && plugin.code
      ? [{ action: action.name, path: plugin.code }]
      : [];
  });
}

/** The console's address, as an operator's browser on this machine reaches it. */
export function consoleUrl(host: string, port: number): string {
  const name = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
  return `http://${name}:${port}/`;
}
