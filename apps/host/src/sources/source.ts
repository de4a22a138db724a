import type { Backlog } from "../engine/backlog.js";
import type { Ingest } from "../engine/ingest.js";
import { leadStream } from "../engine/leader.js";
import { startReading, streamHooks } from "../engine/reader.js";
import type { ActionRunner } from "../engine/runner.js";
import { type HostStatus, newStreamStatus } from "../engine/status.js";
import type { HostLogger } from "../logger.js";
import type { Metrics } from "../metrics.js";
import type { EventSource } from "../sources/auth0-stream.js";
import type { StateStore } from "../store/types.js";
import { DEFAULT_TENANT } from "../tenants.js";
import { startWebhookServer, type WebhookRoute, type WebhookServerOptions } from "./webhook.js";

/** What the engine gives a source to start it: where its events go, and what it reports to. */
export interface SourceContext {
  ingest: Ingest;
  runners: readonly ActionRunner[];
  backlog: Backlog;
  store: StateStore;
  status: HostStatus;
  metrics: Metrics;
  log: HostLogger;
  redact: (text: string) => string;
  /** A failure that stops the host (nothing is lost: the stream resumes from the stored cursor). */
  fail: (error: Error) => void;
  /** The config file's folder (relative paths in a source's options). */
  baseDir: string;
}

/** A source once started: what it reads or listens on, and how to stop it. */
export interface RunningSource {
  kind: "stream" | "webhook";
  /** The tenants whose events it brings. */
  tenants: string[];
  /** For the startup log line. */
  describe: string;
  /** Where it listens, for a source that does (its first path's URL). */
  url?: string | undefined;
  /** Where each tenant posts, for a webhook. */
  urls?: Array<{ tenant: string; url: string }>;
  stop(): Promise<void>;
}

/** A way events come in (the tenant's stream, the webhook), started by the engine. */
export interface Source {
  start(context: SourceContext): Promise<RunningSource>;
}

/**
 * A tenant's event stream: read while this host leads it (always, on state only it uses), into the ingest
 * step, paced by the actions' room. Each tenant's stream has its own cursor and, on shared state, its own
 * lease, so different replicas may lead different tenants.
 */
export function streamSource(events: EventSource, tenant: string = DEFAULT_TENANT): Source {
  return {
    async start(context) {
      const { store, metrics, redact } = context;
      // With `sources`, its lines carry the tenant, as its metrics do.
      const log = metrics.byTenant ? context.log.child({ tenant }) : context.log;
      const own = newStreamStatus();
      context.status.streams.set(tenant, own);
      const tenantMetrics = metrics.source(tenant);
      const hooks = streamHooks(own, tenantMetrics, log, redact, events.describe);
      const leader = leadStream({
        leadership: store.leadershipOf?.(tenant) ?? store.leadership,
        // Shared state: read ahead into the store only while another replica is there to take rows from it.
        onPeers: (alive) => {
          own.readingAhead = alive;
        },
        status: own,
        metrics: tenantMetrics,
        log,
        fatal: (error) =>
          context.fail(
            new Error(
              `${error.message}: stopping so that nothing is lost; the stream resumes from the last stored cursor`,
            ),
          ),
        read: async (onFailure) =>
          startReading(
            {
              source: events,
              tenant,
              ingest: context.ingest,
              runners: context.runners,
              backlog: context.backlog,
              hooks,
              cursor: await store.getCursor(tenant),
              readAhead: () => own.readingAhead,
              onBacklogFull: (unfinished) =>
                log.warn(
                  { unfinished },
                  "backpressure: the store holds its cap of unfinished deliveries, pausing the stream",
                ),
            },
            onFailure,
          ),
      });
      return { kind: "stream", tenants: [tenant], describe: events.describe, stop: () => leader.stop() };
    },
  };
}

/**
 * Auth0 Event Streams posting to this host: one server per port, one path (and credentials) per tenant on
 * it; events go to the ingest step as requests arrive, as their path's tenant's.
 */
export function webhookSource(options: WebhookServerOptions, routes: readonly WebhookRoute[]): Source {
  return {
    async start(context) {
      const server = await startWebhookServer(
        options,
        routes,
        (events, tenant) => context.ingest.push(events, tenant),
        {
          log: context.log,
          registry: context.metrics.registry,
          onInvalid: (event, _reason, tenant) =>
            context.metrics.source(tenant).invalid.labels(event.type).inc(),
          baseDir: context.baseDir,
        },
      );
      return {
        kind: "webhook",
        tenants: routes.map((route) => route.tenant),
        describe: `webhook ${server.urls.map((u) => u.url).join(", ")}`,
        url: server.urls[0]?.url,
        urls: server.urls,
        stop: () => server.close(),
      };
    },
  };
}

/** Start each source in turn; a failure stops the ones already started. */
export async function startSources(
  sources: readonly Source[],
  context: SourceContext,
): Promise<RunningSource[]> {
  const running: RunningSource[] = [];
  try {
    for (const source of sources) running.push(await source.start(context));
  } catch (error) {
    for (const started of running.reverse()) await started.stop().catch(() => {});
    throw error;
  }
  return running;
}
