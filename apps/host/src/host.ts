import { mkdirSync } from "node:fs";
import type { StreamItem } from "@switchyard/auth0-events";
import {
  type Action,
  type Auth0Event,
  type CacheBackend,
  ConfigError,
  createActionCache,
  describeError,
  type EncodedEvent,
  encodedEvent,
} from "@switchyard/core";
import type { LoadedConfig } from "./config/load.js";
import { createRedactor } from "./config/secrets.js";
import { CompletionWriter } from "./engine/completions.js";
import { ActionRunner, READ_AHEAD } from "./engine/runner.js";
import { lockStateDir } from "./lock.js";
import { createLogger, type HostLogger } from "./logger.js";
import { createMetrics } from "./metrics.js";
import { resolveActions } from "./plugins/resolve-actions.js";
import { startOpsServer } from "./server.js";
import { auth0Source, type EventSource } from "./source.js";
import { openHostStore } from "./store/open.js";
import type { HostStore, IngestEvent, IngestResult, Watermark } from "./store/types.js";

export interface HostOptions {
  /** Where logs go (default stdout). */
  logDestination?: Parameters<typeof createLogger>[2];
  /** Replace the tenant stream (tests, benchmarks). */
  source?: EventSource;
}

export interface Host {
  /** The port of /healthz, /readyz and /metrics (undefined when disabled). */
  port: number | undefined;
  log: HostLogger;
  /** Resolves when the host stopped cleanly; rejects with the fatal error that stopped it. */
  done: Promise<void>;
  /** Stop reading, let in-flight deliveries finish within the grace period, close plugins and the store. */
  stop(): Promise<void>;
}

/** Start the host: one stream in, every matching action out, durably. */
export async function startHost(loaded: LoadedConfig, options: HostOptions = {}): Promise<Host> {
  const { config } = loaded;
  const redact = createRedactor(loaded.secrets);
  const log = createLogger(config.log.level, redact, options.logDestination, config.log.format);
  const plugins = await resolveActions(loaded);

  mkdirSync(loaded.stateDir, { recursive: true });
  const unlock = lockStateDir(loaded.stateDir);
  let store: HostStore | undefined;
  const cleanups: Array<() => Promise<void> | void> = [unlock];
  let fatal: ((error: unknown) => void) | undefined;
  try {
    store = await openHostStore(loaded, (error) => fatal?.(error));
  } catch (error) {
    unlock();
    throw new Error(`cannot open the state store in ${loaded.stateDir}: ${describeError(error)}`);
  }
  const db = store;
  cleanups.unshift(() => db.close());
  let recovered: number;
  let unfinished: number;
  try {
    recovered = await db.recover();
    unfinished = await db.countUnfinished();
  } catch (error) {
    for (const cleanup of cleanups) await cleanup();
    throw new Error(`cannot read the state store in ${loaded.stateDir}: ${describeError(error)}`);
  }

  const metrics = createMetrics(() => db);
  const runners: ActionRunner[] = [];
  const completions = new CompletionWriter(
    db,
    (batch) => {
      for (const c of batch) if (c.result === "delivered" || c.result === "dead") unfinished--;
      for (const runner of runners) runner.afterFlush();
      if (unfinished < config.delivery.maxPending * 0.9) releaseBackpressure();
    },
    (error) =>
      fatal?.(
        new Error(
          `the state store cannot be written (${describeError(error)}): stopping so that nothing is lost`,
        ),
      ),
    (out) => {
      const now = Date.now();
      const watermarks: Watermark[] = [];
      for (const runner of runners) {
        const upto = runner.checkpoint(now, out);
        if (upto !== undefined) watermarks.push({ action: runner.name, upto });
      }
      return watermarks;
    },
  );

  const actions: Action[] = [];
  let spaceWaiter: (() => void) | undefined;
  try {
    for (const [index, actionConfig] of config.actions.entries()) {
      const plugin = plugins[index]!;
      if (!actionConfig.enabled) continue;
      let action: Action;
      try {
        action = plugin.kind === "factory" ? plugin.create(actionConfig.with) : plugin.action;
      } catch (error) {
        throw new ConfigError(
          `${loaded.file}: actions[${index}] (${actionConfig.name}): ${redact((error as Error).message)}`,
        );
      }
      actions.push(action);
      const cache = createActionCache(await persistentCache(db, actionConfig.name, log));
      runners.push(
        new ActionRunner({
          config: actionConfig,
          action,
          cache,
          store: db,
          completions,
          metrics,
          log,
          redact,
          cloneEvents: plugin.kind === "file",
          onSpace: () => {
            const wake = spaceWaiter;
            spaceWaiter = undefined;
            wake?.();
          },
        }),
      );
    }
  } catch (error) {
    await closeActions(actions, log);
    for (const cleanup of cleanups) await cleanup();
    throw error;
  }

  const heldWithoutRow = () => runners.reduce((sum, runner) => sum + runner.heldWithoutRow(), 0);
  let connected = false;
  let lastWrite = Date.now();
  const touch = () => {
    db.touch(Date.now()).then(
      () => {
        lastWrite = Date.now();
      },
      (error: unknown) => log.error({ err: error }, "the state store is not writable"),
    );
  };
  const ops = config.server.enabled
    ? await startOpsServer({
        host: config.server.host,
        port: config.server.port,
        registry: metrics.registry,
        readiness: () => {
          const checks = { stream: connected, store: Date.now() - lastWrite < 15_000 };
          return { ready: checks.stream && checks.store, checks };
        },
      })
    : undefined;

  const source = options.source ?? auth0Source(config);
  const stopIngest = new AbortController();
  let release: (() => void) | undefined;
  function releaseBackpressure() {
    release?.();
    release = undefined;
  }

  let resolveDone!: () => void;
  let rejectDone!: (error: unknown) => void;
  const done = new Promise<void>((resolve, reject) => {
    resolveDone = resolve;
    rejectDone = reject;
  });
  done.catch(() => {});

  const ingest = async () => {
    const hooks = {
      onConnect: () => {
        connected = true;
        metrics.connected.set(1);
        log.info({ source: source.describe }, "stream connected");
      },
      onReconnect: (info: { attempt: number; delayMs: number; reason: string }) => {
        connected = false;
        metrics.connected.set(0);
        metrics.reconnects.inc();
        log.info(info, "stream reconnecting");
      },
      onBytes: (bytes: number) => metrics.streamBytes.inc(bytes),
      onMalformed: (info: { offset: string | undefined; error: Error }) => {
        metrics.malformed.inc();
        log.warn({ offset: info.offset, error: info.error.message }, "skipped a malformed stream frame");
      },
      onError: (error: Error) => {
        connected = false;
        metrics.connected.set(0);
        metrics.streamErrors.inc();
        log.warn({ error: redact(error.message) }, "stream interrupted");
      },
    };
    const unordered = runners.filter((runner) => !runner.ordered);
    // Read on only while some action can take work at once: when every one is busy, reading ahead would
    // only park deliveries in the store to be read back. One slow action never holds the others back: it
    // takes the overflow in the store while the others keep the stream moving.
    const roomToRead = async () => {
      while (
        unordered.length > 0 &&
        unordered.every((r) => r.freeSlots() < READ_AHEAD) &&
        !stopIngest.signal.aborted
      ) {
        await new Promise<void>((resolve) => {
          spaceWaiter = resolve;
        });
      }
    };
    for await (const batch of source.batches(await db.getCursor(), stopIngest.signal, hooks)) {
      // One read can hold more events than the actions have room for (after a pause, a whole socket
      // buffer): take it in pieces the size of the roomiest action's room, so that only an action that is
      // really behind sends its deliveries through the store.
      for (let start = 0; start < batch.length && !stopIngest.signal.aborted; ) {
        await roomToRead();
        const size = Math.max(READ_AHEAD, ...unordered.map((r) => r.freeSlots()));
        await ingestBatch(start === 0 && size >= batch.length ? batch : batch.slice(start, start + size));
        start += size;
      }
      while (unfinished >= config.delivery.maxPending && !stopIngest.signal.aborted) {
        log.warn({ unfinished }, "backpressure: too many unfinished deliveries, pausing the stream");
        await new Promise<void>((resolve) => {
          release = resolve;
        });
      }
    }
  };

  const ingestBatch = async (batch: StreamItem[]) => {
    const rows: IngestEvent[] = [];
    // Per row: the runners that take the delivery now, and those that will read it from the store.
    const owners: Array<{ now: ActionRunner[]; later: ActionRunner[]; encoded: EncodedEvent }> = [];
    const free = runners.map((runner) => runner.freeSlots());
    let cursor: string | undefined;
    let newest: Auth0Event | undefined;
    for (const item of batch) {
      cursor = item.offset;
      if (item.kind !== "event") continue;
      const event = item.event;
      metrics.eventsReceived.labels(event.type).inc();
      newest = event;
      const deliveries: IngestEvent["deliveries"] = [];
      const encoded = encodedEvent(item.json);
      const owner = { now: [] as ActionRunner[], later: [] as ActionRunner[], encoded };
      runners.forEach((runner, i) => {
        if (!runner.accepts(event)) return;
        const claimed = free[i]! > 0;
        if (claimed) free[i]!--;
        (claimed ? owner.now : owner.later).push(runner);
        deliveries.push({ action: runner.name, orderKey: runner.keyOf(event), claimed });
      });
      rows.push({ event, payload: encoded.json, deliveries });
      owners.push(owner);
    }
    if (newest) {
      const lagMs = Date.now() - Date.parse(newest.time);
      if (Number.isFinite(lagMs)) metrics.lag.set(Math.max(0, lagMs) / 1000);
    }
    if (rows.length === 0 && cursor === undefined) return;
    // The events, their deliveries and the cursor land in one transaction before anything runs.
    let result: IngestResult;
    try {
      result = await db.ingest(rows, cursor);
    } catch (error) {
      throw new Error(
        `the state store cannot be written (${describeError(error)}): stopping so that nothing is lost; the stream resumes from the last stored cursor once the store is writable`,
      );
    }
    const waiting = new Set<ActionRunner>();
    const now = Date.now();
    let newestKey = 0;
    rows.forEach((row, i) => {
      const key = result.keys[i];
      if (key === undefined) {
        metrics.duplicates.inc();
        log.debug({ eventId: row.event.id }, "duplicate event dropped");
        return;
      }
      newestKey = key;
      unfinished += row.deliveries.length;
      const owner = owners[i]!;
      for (const runner of owner.now) runner.enqueue(key, row.event as Auth0Event, owner.encoded, now);
      for (const runner of owner.later) waiting.add(runner);
    });
    for (const runner of runners) runner.ingested(newestKey);
    for (const runner of waiting) runner.notifyStoreWork();
  };

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      log.info("stopping: no new events; finishing in-flight deliveries");
      stopIngest.abort();
      releaseBackpressure();
      spaceWaiter?.();
      clearInterval(maintenance);
      clearInterval(heartbeat);
      await ingestDone.catch(() => {});
      await Promise.all(runners.map((runner) => runner.stop(config.delivery.shutdownGraceMs)));
      await completions.flush();
      await closeActions(actions, log);
      await ops?.close();
      for (const cleanup of cleanups) await cleanup();
      log.info("stopped");
      log.flush();
    })();
    return stopping;
  };

  fatal = (error) => {
    log.fatal({ error: redact(describeError(error)) }, "fatal error");
    void stop().finally(() => rejectDone(error));
  };

  const maintenance = setInterval(async () => {
    try {
      await db.prune(Date.now(), config.delivery.dedupeWindowMs);
      unfinished = (await db.countUnfinished()) + heldWithoutRow();
    } catch (error) {
      log.error({ err: error }, "pruning the state store failed");
    }
  }, 30_000);
  maintenance.unref();
  const heartbeat = setInterval(touch, 5_000);
  heartbeat.unref();

  for (const runner of runners) runner.start();
  log.info(
    {
      source: source.describe,
      actions: runners.map((r) => r.name),
      state: loaded.stateDir,
      recoveredInFlight: recovered,
      pending: unfinished,
      ...(ops ? { metrics: `http://${config.server.host}:${ops.port}/metrics` } : {}),
    },
    "switchyard started",
  );

  const ingestDone = ingest();
  ingestDone.then(
    () => {
      if (!stopIngest.signal.aborted) fatal?.(new Error("the event stream ended"));
    },
    (error) => {
      if (!stopIngest.signal.aborted) fatal?.(error);
    },
  );

  return {
    port: ops?.port,
    log,
    done,
    stop: async () => {
      await stop();
      resolveDone();
    },
  };
}

async function closeActions(actions: Action[], log: HostLogger): Promise<void> {
  await Promise.all(
    actions.map(async (action) => {
      try {
        await Promise.race([action.close?.(), new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
      } catch (error) {
        log.warn({ err: error }, "an action failed to close");
      }
    }),
  );
}

/** An action's `api.cache` entries live in the store; writes go to it in order, without waiting. */
async function persistentCache(db: HostStore, action: string, log: HostLogger): Promise<CacheBackend> {
  const entries = await db.loadCache(action);
  const failed = (error: unknown) =>
    log.error({ action, err: error }, "could not write the action's cache to the store");
  return {
    load: () => entries,
    save: (key, record) => void db.saveCache(action, key, record).catch(failed),
    remove: (key) => void db.removeCache(action, key).catch(failed),
  };
}
