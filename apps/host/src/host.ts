import { mkdirSync } from "node:fs";
import { hostname } from "node:os";
import { ConfigError, describeError } from "@switchyard/core";
import { adminTokensOf } from "./admin/roles.js";
import { consoleHandler } from "./admin/static.js";
import { describeUnknownType, unknownEventTypes } from "./config/event-warnings.js";
import type { LoadedConfig } from "./config/load.js";
import { retentionMs, type SwitchyardConfig, tenantSources } from "./config/schema.js";
import { createRedactor } from "./config/secrets.js";
import { ActionSet, type ReloadSummary } from "./engine/action-set.js";
import { createRunners } from "./engine/actions.js";
import { Backlog } from "./engine/backlog.js";
import { ActionControl } from "./engine/control.js";
import { HistoryWriter } from "./engine/history.js";
import { Ingest } from "./engine/ingest.js";
import { Lifecycle } from "./engine/lifecycle.js";
import { startMaintenance } from "./engine/maintenance.js";
import { openState } from "./engine/open-state.js";
import { type HostStatus, newStatus, readiness } from "./engine/status.js";
import { CompletionWriter, trackDeliveries } from "./engine/tracking.js";
import { type CodeLocation, guardUncaught } from "./engine/uncaught.js";
import { lockStateDir } from "./lock.js";
import { createLogger, type HostLogger } from "./logger.js";
import { createMetrics, type Metrics } from "./metrics.js";
import { recordReload } from "./operations.js";
import type { ResolvedPlugin } from "./plugins/load.js";
import { resolveActions } from "./plugins/resolve-actions.js";
import { type OpsServer, startOpsServer } from "./server.js";
import { auth0Source, type EventSource } from "./sources/auth0-stream.js";
import { type Source, startSources, streamSource, webhookSource } from "./sources/source.js";
import type { WebhookRoute, WebhookSourceOptions } from "./sources/webhook.js";
import { replicaIdFromEnv } from "./store/open.js";
import type { StateStore } from "./store/types.js";
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
  const secrets = new Secrets(loaded.secrets);
  const redact = secrets.redact;
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
      life.defer(lockStateDir(loaded.state.dir, undefined, (error) => life.fail(error)));
    }
    const status = newStatus();
    const metrics = createMetrics({ tenants: config.sources !== undefined });
    const ops = await openOps(config, status, metrics, redact, log);
    if (ops) life.defer(() => ops.close());

    const opening = new AbortController();
    life.defer(() => opening.abort());
    options.signal?.addEventListener("abort", () => opening.abort(), { once: true });
    const store = await openState(loaded, log, opening.signal, (error) => storeFailed(life, log, error));
    life.defer(() => store.close());
    status.storeWritable = true;
    metrics.readFrom(store);
    const recovered = await store.recover();
    const backlog = new Backlog(config.delivery.maxPending);
    backlog.reset(await store.countUnfinished());

    const completions = completionWriter(store, log, life);
    life.defer(() => completions.flush());
    const historyRetentionMs = retentionMs(config.history.retention);
    const history = historyRetentionMs > 0 ? historyWriter(store, log, metrics) : undefined;
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
    trackDeliveries(completions, backlog, () => set.all());
    // Removed after the actions are closed (deferred first, run last): a plugin's close can throw late too.
    life.defer(guardUncaught({ log, metrics, redact, locations: codeLocations(loaded, plugins) }));
    life.defer(() => set.close());
    const control = new ActionControl({ ...deps, runners, actions: () => set.actions });
    await control.start();
    status.failedActions = runners.flatMap((r) => (r.failure !== undefined ? [r.name] : []));
    const auditRetentionMs = Math.max(historyRetentionMs, retentionMs(config.history.auditRetention));
    life.defer(
      startMaintenance({
        ...deps,
        runners,
        control,
        status,
        dedupeWindowMs: config.delivery.dedupeWindowMs,
        historyRetentionMs,
        auditRetentionMs,
      }),
    );
    life.defer(() => Promise.all([...set.all()].map((r) => r.stop(config.delivery.shutdownGraceMs))));
    for (const runner of runners) runner.start();

    const ingest = new Ingest({ ...deps, runners });
    const fail = (error: Error) => life.fail(error);
    const context = { ...deps, ingest, runners, status, fail, baseDir: loaded.dir };
    const sources = await startSources(configuredSources(config, options.source), context);
    for (const source of sources) life.defer(() => source.stop());
    // The admin API reads the actions from here: a reload replaces `loaded`.
    const admin = {
      loaded,
      store,
      status,
      metrics,
      control,
      replica,
      version: VERSION,
      streamConfigured: sources.some((s) => s.kind === "stream"),
      webhookUrl: sources.find((s) => s.kind === "webhook")?.url,
      webhookUrls: sources.flatMap((s) => s.urls ?? []),
      ready: () => readiness(status).ready,
    };
    ops?.attach(admin);
    life.defer(() => log.info("stopping: no new events; finishing in-flight deliveries"));
    log.info(
      {
        sources: sources.map((s) => s.describe),
        actions: runners.map((r) => r.name),
        state: loaded.stateDir,
        recoveredInFlight: recovered,
        pending: backlog.unfinished,
        ...(ops ? opsUrls(config.server.host, ops.port) : {}),
      },
      "switchyard started",
    );
    const reload = reloader({ secrets, log, life, set, control, ingest, admin, ops, store, replica });
    return { port: ops?.port, log, done: life.done, stop: () => life.stop(), reload };
  } catch (error) {
    await life.stop();
    throw error;
  }
}

/** The config's secrets, growing at each reload: everything that redacts calls `redact`. */
class Secrets {
  private values: string[];
  private redactor: (text: string) => string;

  constructor(values: readonly string[]) {
    this.values = [...values];
    this.redactor = createRedactor(this.values);
  }

  readonly redact = (text: string): string => this.redactor(text);

  /** Add a reloaded config's secrets (the old ones stay: lines already queued may hold them). */
  add(values: readonly string[]): void {
    this.values = [...new Set([...this.values, ...values])].sort((a, b) => b.length - a.length);
    this.redactor = createRedactor(this.values);
  }
}

/** The ops server (health, metrics, the admin API and the console), when the config enables it. */
async function openOps(
  config: SwitchyardConfig,
  status: HostStatus,
  metrics: Metrics,
  redact: (text: string) => string,
  log: HostLogger,
): Promise<OpsServer | undefined> {
  if (!config.server.enabled) return undefined;
  return startOpsServer({
    host: config.server.host,
    port: config.server.port,
    registry: metrics.registry,
    readiness: () => readiness(status),
    adminTokens: adminTokensOf(config.server),
    redact,
    pages: consoleHandler(),
    onError: (error) => log.error({ err: error }, "an ops server request failed"),
    limits: config.server,
  });
}

/**
 * Where results go to the store. State only this host uses: a write that fails stops the host (nothing is
 * lost). Shared state: results are kept and written again, while the other replicas go on.
 */
function completionWriter(store: StateStore, log: HostLogger, life: Lifecycle): CompletionWriter {
  const shared = store.leadership !== undefined;
  return new CompletionWriter(
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
}

/** Where the attempts' history goes (in batches, off the delivery path); what it drops is counted. */
function historyWriter(store: StateStore, log: HostLogger, metrics: Metrics): HistoryWriter {
  return new HistoryWriter(store, log, (count) => metrics.historyDropped.inc(count));
}

/**
 * The config's sources: each tenant's stream (the first tenant's may be one a test or benchmark gives), and
 * one webhook server per port with each tenant's path on it.
 */
function configuredSources(config: SwitchyardConfig, given: EventSource | undefined): Source[] {
  const tenants = tenantSources(config);
  const streams = tenants.flatMap((source, index) => {
    const events = (index === 0 ? given : undefined) ?? auth0Source(source, config);
    return events ? [streamSource(events, source.tenant)] : [];
  });
  // Tenants that share a port share its server (the config checked they agree on its settings).
  const servers = new Map<string, { options: WebhookSourceOptions; routes: WebhookRoute[] }>();
  tenants.forEach((source, index) => {
    const webhook = source.webhook as WebhookSourceOptions | undefined;
    if (!webhook) return;
    const port = webhook.port === 0 ? `any ${index}` : String(webhook.port);
    const server = servers.get(port) ?? { options: webhook, routes: [] };
    server.routes.push({
      tenant: source.tenant,
      path: webhook.path,
      auth: webhook.auth,
      a0tenants: source.a0tenants,
    });
    servers.set(port, server);
  });
  return [...streams, ...[...servers.values()].map((s) => webhookSource(s.options, s.routes))];
}

function opsUrls(host: string, port: number): { console: string; metrics: string } {
  return { console: consoleUrl(host, port), metrics: `${consoleUrl(host, port)}metrics` };
}

interface ReloadDeps {
  secrets: Secrets;
  log: HostLogger;
  life: Lifecycle;
  set: ActionSet;
  control: ActionControl;
  ingest: Ingest;
  admin: { loaded: LoadedConfig };
  ops: OpsServer | undefined;
  /** Where the reload is recorded (the audit log), and by which replica. */
  store: StateStore;
  replica: string;
}

/**
 * A running host's reload: the new config's actions replace the old between two ingest batches; settings
 * that need a restart are refused, changing nothing.
 */
function reloader(deps: ReloadDeps): (next: LoadedConfig, actor?: string) => Promise<ReloadSummary> {
  const { secrets, log, life, set, control, ingest, admin, ops, store, replica } = deps;
  const graceMs = admin.loaded.config.delivery.shutdownGraceMs;
  return async (next, actor = "signal:SIGHUP") => {
    if (life.stopped) throw new Error("the host is stopping");
    const fixed = needsRestart(admin.loaded, next);
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
      secrets.add(next.secrets);
      admin.loaded = next;
      ops?.setAdminTokens(adminTokensOf(next.config.server));
      return set.apply(prepared, { adopt: (runner) => control.adopt(runner), graceMs });
    });
    // Apply the stored paused states to the added actions now, not at the next chore.
    await control.sync();
    await control.warnRemoved();
    log.info({ file: next.file, ...summary }, "config reloaded");
    await recordReload(store, { actor, replica, was, next, summary }).catch((error: unknown) =>
      log.error({ err: error }, "could not record the config reload in the audit log"),
    );
    return summary;
  };
}

/**
 * The store failed: the host stops with the error. Already stopping (the store's files found lost as it
 * closed, store/sqlite/files.ts), it says so, as stopping says nothing of a failure.
 */
function storeFailed(life: Lifecycle, log: HostLogger, error: Error): void {
  if (life.stopped) log.error({ err: error }, "the state store failed while the host was stopping");
  else life.fail(error);
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
