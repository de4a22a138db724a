import { mkdirSync } from "node:fs";
import { hostname } from "node:os";
import { ConfigError, describeError } from "@switchyard/core";
import { adminTokensOf } from "./admin/roles.js";
import { consoleHandler } from "./admin/static.js";
import { describeUnknownType, unknownEventTypes } from "./config/event-warnings.js";
import type { LoadedConfig } from "./config/load.js";
import { retentionMs } from "./config/schema.js";
import { createRedactor } from "./config/secrets.js";
import { ActionSet, type ReloadSummary } from "./engine/action-set.js";
import { attachRunners, createRunners } from "./engine/actions.js";
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
import { recordReload } from "./operations.js";
import type { ResolvedPlugin } from "./plugins/load.js";
import { resolveActions } from "./plugins/resolve-actions.js";
import { startOpsServer } from "./server.js";
import { auth0Source, type EventSource } from "./source.js";
import { startWebhookSource, type WebhookSourceOptions } from "./sources/webhook.js";
import { replicaIdFromEnv } from "./store/open.js";
import { startTracing } from "./telemetry/index.js";
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
  /**
   * Apply a new config's actions while deliveries flow (SIGHUP, `switchyard reload`). Rejects, changing
   * nothing, with the reason when the config is invalid or changes a setting that needs a restart. An applied
   * reload is recorded in the audit log with `actor` (who asked: `signal:SIGHUP`, a token's name) and what it
   * changed.
   */
  reload(next: LoadedConfig, actor?: string): Promise<ReloadSummary>;
}

/** How long the last spans may take to reach the collector at shutdown (after the deliveries finished). */
const TRACES_SHUTDOWN_MS = 5_000;

/** Start the host: one stream in, every matching action out, durably. This function only wires the parts. */
export async function startHost(loaded: LoadedConfig, options: HostOptions = {}): Promise<Host> {
  const { config } = loaded;
  // A reload adds the new config's secrets: everything that redacts calls through this one function.
  let secrets = loaded.secrets;
  let redactSecrets = createRedactor(secrets);
  const redact = (text: string) => redactSecrets(text);
  const log = createLogger(config.log.level, redact, options.logDestination, config.log.format);
  const plugins = await resolveActions(loaded, { keepBroken: true });
  warnUnknownTypes(loaded, log);
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
          adminTokens: adminTokensOf(config.server),
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
    const replica = store.replicaId ?? replicaIdFromEnv() ?? hostname();
    // Deferred before the runners' stop, so it runs after it: the last attempts' spans are exported too.
    const tracing = await startTracing(config.telemetry, { log, redact, version: VERSION });
    if (tracing) life.defer(() => tracing.shutdown(TRACES_SHUTDOWN_MS));
    const deps = { store, completions, backlog, metrics, log, redact, history, replica, tracing };
    const made = await createRunners(loaded, plugins, deps);
    const set = new ActionSet(made.runners, made.instances, config.actions, deps);
    const { runners } = set;
    attachRunners(completions, backlog, () => set.all());
    // Removed after the actions are closed (deferred first, run last): a plugin's close can throw late too.
    life.defer(guardUncaught({ log, metrics, redact, locations: codeLocations(loaded, plugins) }));
    life.defer(() => set.close());
    const control = new ActionControl({ ...deps, runners, actions: () => set.actions });
    await control.start();
    status.failedActions = runners.flatMap((r) => (r.failure !== undefined ? [r.name] : []));
    const dedupeWindowMs = config.delivery.dedupeWindowMs;
    const auditRetentionMs = Math.max(historyRetentionMs, retentionMs(config.history.auditRetention));
    life.defer(
      startMaintenance({
        ...deps,
        runners,
        control,
        status,
        dedupeWindowMs,
        historyRetentionMs,
        auditRetentionMs,
      }),
    );
    life.defer(() => Promise.all([...set.all()].map((r) => r.stop(config.delivery.shutdownGraceMs))));
    for (const runner of runners) runner.start();

    const ingest = new Ingest({ ...deps, runners });
    const source = options.source ?? auth0Source(config);
    if (source) {
      const hooks = streamHooks(status, metrics, log, redact, source.describe);
      // Shared state: read ahead into the store only while another replica is there to take rows from it.
      const leader = leadStream({
        leadership: store.leadership,
        onPeers: (alive) => {
          status.readingAhead = alive;
        },
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
              readAhead: () => status.readingAhead,
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
    // The admin API reads the actions from here: a reload replaces `loaded`.
    const admin = {
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
    };
    ops?.attach(admin);
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
    const reload = async (next: LoadedConfig, actor = "signal:SIGHUP"): Promise<ReloadSummary> => {
      if (life.stopped) throw new Error("the host is stopping");
      const fixed = needsRestart(loaded, next);
      if (fixed.length > 0) {
        throw new ConfigError(
          `${next.file}: ${fixed.join(", ")} cannot change while the host runs: restart it to apply (nothing was changed)`,
        );
      }
      const prepared = await set.prepare(next, await resolveActions(next));
      warnUnknownTypes(next, log);
      if (life.stopped) {
        await set.discard(prepared);
        throw new Error("the host is stopping");
      }
      const was = admin.loaded;
      const summary = await ingest.exclusive(() => {
        secrets = [...new Set([...secrets, ...next.secrets])].sort((a, b) => b.length - a.length);
        redactSecrets = createRedactor(secrets);
        admin.loaded = next;
        ops?.setAdminTokens(adminTokensOf(next.config.server));
        return set.apply(prepared, {
          adopt: (runner) => control.adopt(runner),
          graceMs: config.delivery.shutdownGraceMs,
        });
      });
      // Apply the stored paused states to the added actions now, not at the next chore.
      await control.sync();
      log.info({ file: next.file, ...summary }, "config reloaded");
      await recordReload(store, { actor, replica, was, next, summary }).catch((error: unknown) =>
        log.error({ err: error }, "could not record the config reload in the audit log"),
      );
      return summary;
    };
    return { port: ops?.port, log, done: life.done, stop: () => life.stop(), reload };
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

/** Say so for each exact event type in `events` that is not in the catalog (a typo never matches). */
function warnUnknownTypes(loaded: LoadedConfig, log: HostLogger): void {
  for (const warning of unknownEventTypes(loaded)) {
    log.warn(
      { path: warning.path, type: warning.type, nearest: warning.nearest },
      `an action subscribes to an unknown event type: ${describeUnknownType(warning)}`,
    );
  }
}

/**
 * The settings a running host cannot change: everything but `actions` and the admin tokens (the state, the
 * servers, the source, the delivery and history settings, the log). Returns their names where `next` differs.
 */
function needsRestart(current: LoadedConfig, next: LoadedConfig): string[] {
  const differ: string[] = [];
  const keys = new Set([...Object.keys(current.config), ...Object.keys(next.config)]);
  // The admin tokens are read per request: a reload adds, removes (revokes) or re-roles them at once.
  const settings = (config: LoadedConfig["config"]) => {
    const { adminToken: _, adminTokens: __, ...server } = config.server;
    return { ...config, server } as unknown as Record<string, unknown>;
  };
  for (const key of keys) {
    if (key === "actions") continue;
    const was = settings(current.config)[key];
    const now = settings(next.config)[key];
    if (JSON.stringify(was) !== JSON.stringify(now)) differ.push(key);
  }
  if (current.stateDir !== next.stateDir && !differ.includes("state")) differ.push("state");
  return differ;
}

/** The console's address, as an operator's browser on this machine reaches it. */
export function consoleUrl(host: string, port: number): string {
  const name = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
  return `http://${name}:${port}/`;
}
