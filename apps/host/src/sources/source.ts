import type { Backlog } from "../engine/backlog.js";
import type { Ingest } from "../engine/ingest.js";
import { leadStream } from "../engine/leader.js";
import { startReading, streamHooks } from "../engine/reader.js";
import type { ActionRunner } from "../engine/runner.js";
import type { HostStatus } from "../engine/status.js";
import type { HostLogger } from "../logger.js";
import type { Metrics } from "../metrics.js";
import type { EventSource } from "../sources/auth0-stream.js";
import type { StateStore } from "../store/types.js";
import { startWebhookSource, type WebhookSourceOptions } from "./webhook.js";

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
  /** For the startup log line. */
  describe: string;
  /** Where it listens, for a source that does. */
  url?: string;
  stop(): Promise<void>;
}

/** A way events come in (the tenant's stream, the webhook), started by the engine. */
export interface Source {
  start(context: SourceContext): Promise<RunningSource>;
}

/**
 * The tenant's event stream: read while this host leads it (always, on state only it uses), into the ingest
 * step, paced by the actions' room.
 */
export function streamSource(events: EventSource): Source {
  return {
    async start(context) {
      const { store, status, metrics, log, redact } = context;
      const hooks = streamHooks(status, metrics, log, redact, events.describe);
      const leader = leadStream({
        leadership: store.leadership,
        // Shared state: read ahead into the store only while another replica is there to take rows from it.
        onPeers: (alive) => {
          status.readingAhead = alive;
        },
        status,
        metrics,
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
              ingest: context.ingest,
              runners: context.runners,
              backlog: context.backlog,
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
      return { kind: "stream", describe: events.describe, stop: () => leader.stop() };
    },
  };
}

/** Auth0 Event Streams posting to this host: events go to the ingest step as requests arrive. */
export function webhookSource(options: WebhookSourceOptions): Source {
  return {
    async start(context) {
      const webhook = await startWebhookSource(options, (events) => context.ingest.push(events), {
        log: context.log,
        registry: context.metrics.registry,
        onInvalid: (event) => context.metrics.invalid.labels(event.type).inc(),
        baseDir: context.baseDir,
      });
      return {
        kind: "webhook",
        describe: `webhook ${webhook.url}`,
        url: webhook.url,
        stop: () => webhook.close(),
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
