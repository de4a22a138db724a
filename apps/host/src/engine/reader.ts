import type { StreamHooks, StreamItem } from "@switchyard/auth0-events";
import type { HostLogger } from "../logger.js";
import type { SourceMetrics } from "../metrics.js";
import type { EventSource } from "../sources/auth0-stream.js";
import type { Backlog } from "./backlog.js";
import type { Ingest } from "./ingest.js";
import { type ActionRunner, READ_AHEAD } from "./runner.js";
import type { StreamStatus } from "./status.js";

export interface ReaderDeps {
  source: EventSource;
  /** The tenant whose stream it is (its events, cursor and lease). */
  tenant: string;
  ingest: Ingest;
  runners: readonly ActionRunner[];
  backlog: Backlog;
  hooks: StreamHooks;
  /** Where to resume. */
  cursor: string | undefined;
  /** Told once per pause, when the backlog reaches the store's cap. */
  onBacklogFull: (unfinished: number) => void;
  /**
   * Whether to read on while this host's actions are busy (shared state, while another replica is alive):
   * what they cannot take goes to the store as due rows, which every replica claims. Bounded by the backlog
   * cap alone. Asked before each read.
   */
  readAhead?: () => boolean;
}

/**
 * Read the stream in the background until the returned `stop` is called; `onFailure` hears why it ended
 * otherwise (a stream that ends or fails, a store that cannot be written, an ingest that was fenced).
 */
export function startReading(deps: ReaderDeps, onFailure: (error: Error) => void): () => Promise<void> {
  const reading = new AbortController();
  const read = readStream(deps, reading.signal);
  read.then(
    () => reading.signal.aborted || onFailure(new Error("the event stream ended")),
    (error: unknown) =>
      reading.signal.aborted || onFailure(error instanceof Error ? error : new Error(String(error))),
  );
  return async () => {
    reading.abort();
    await read.catch(() => {});
  };
}

/**
 * Read the stream into the ingest step until `signal` aborts (returns) or the stream fails (throws).
 *
 * Flow control: a read is taken only while some action can take work at once; when every one is busy,
 * reading ahead would only park deliveries in the store to be read back. One slow, failing or paused action
 * never holds the others back: it takes its share through the store while the others keep the stream
 * moving. The stream pauses for everyone only when the whole backlog reaches the store's cap.
 *
 * With shared state and another replica alive (`readAhead`) the leader does not wait for its own actions: the
 * other replicas can only help with deliveries that are rows in the store, and a leader that read only as fast
 * as it delivers kept every delivery in its own memory (a second replica added 1.09× into a 50 ms receiver;
 * bench/replicas.bench.ts). Alone, it paces itself as on SQLite: rows nobody else claims cost it up to ~15%.
 */
export async function readStream(deps: ReaderDeps, signal: AbortSignal): Promise<void> {
  const { source, ingest, runners, backlog } = deps;
  const room = new RoomWaiter(runners);
  for await (const batch of source.batches(deps.cursor, signal, deps.hooks)) {
    // One read can hold more events than the actions have room for (after a pause, a whole socket buffer):
    // take it in pieces the size of the roomiest action's room, so that only an action that is really
    // behind sends its deliveries through the store.
    for (let start = 0; start < batch.length && !signal.aborted; ) {
      if (!deps.readAhead?.()) await room.wait(signal);
      const size = Math.max(READ_AHEAD, room.largest());
      const piece: StreamItem[] =
        start === 0 && size >= batch.length ? batch : batch.slice(start, start + size);
      await ingest.write(piece, deps.tenant);
      start += size;
    }
    if (backlog.full()) {
      deps.onBacklogFull(backlog.unfinished);
      await backlog.room(signal);
    }
  }
}

/**
 * Waits until some runner has room for a read; runners call `wake` (their `onSpace`). The runners are read at
 * each wait: a reload adds and removes them.
 */
class RoomWaiter {
  private waiter: (() => void) | undefined;
  private readonly wake = () => this.waiter?.();

  constructor(private readonly all: readonly ActionRunner[]) {}

  largest(): number {
    return Math.max(0, ...this.all.map((runner) => runner.freeSlots()));
  }

  async wait(signal: AbortSignal): Promise<void> {
    for (const runner of this.all) runner.onSpace = this.wake;
    // Paused and rate-limited actions take their deliveries through the store: they never hold the stream.
    const busy = () => {
      const active = this.all.filter((runner) => !runner.isPaused && !runner.isRateLimited);
      return active.length > 0 && active.every((runner) => runner.freeSlots() < READ_AHEAD);
    };
    while (busy() && !signal.aborted) {
      await new Promise<void>((resolve) => {
        const done = () => {
          signal.removeEventListener("abort", done);
          this.waiter = undefined;
          resolve();
        };
        this.waiter = done;
        signal.addEventListener("abort", done, { once: true });
      });
    }
  }
}

/** The stream client's hooks: metrics and log lines, and the connected flag. */
export function streamHooks(
  status: StreamStatus,
  metrics: SourceMetrics,
  log: HostLogger,
  redact: (text: string) => string,
  describe: string,
): StreamHooks {
  const connected = (value: boolean) => {
    status.connected = value;
    metrics.connected.set(value ? 1 : 0);
  };
  return {
    onConnect: () => {
      connected(true);
      log.info({ source: describe }, "stream connected");
    },
    onReconnect: (info) => {
      connected(false);
      metrics.reconnects.inc();
      log.info(info, "stream reconnecting");
    },
    onBytes: (bytes) => metrics.streamBytes.inc(bytes),
    onMalformed: (info) => {
      metrics.malformed.inc();
      log.warn({ offset: info.offset, error: info.error.message }, "skipped a malformed stream frame");
    },
    onInvalid: (info) => {
      metrics.invalid.labels(info.event.type).inc();
      log.warn(
        { eventId: info.event.id, type: info.event.type, offset: info.offset, reason: info.reason },
        "delivering an event whose data deviates from its type's schema",
      );
    },
    onError: (error) => {
      connected(false);
      metrics.streamErrors.inc();
      log.warn({ error: redact(error.message) }, "stream interrupted");
    },
  };
}
