import type { StreamItem } from "@switchyard/auth0-events";
import {
  type Auth0Event,
  describeError,
  type EncodedEvent,
  encodedEvent,
  type TraceContext,
} from "@switchyard/core";
import type { HostLogger } from "../logger.js";
import type { Metrics } from "../metrics.js";
import type { IngestEvent, StateStore } from "../store/types.js";
import type { DeliveryTracing, IntakeSpan } from "../telemetry/index.js";
import { DEFAULT_TENANT } from "../tenants.js";
import type { Backlog } from "./backlog.js";
import type { ActionRunner } from "./runner.js";

export interface IngestDeps {
  store: StateStore;
  runners: readonly ActionRunner[];
  backlog: Backlog;
  metrics: Metrics;
  log: HostLogger;
  /** Intake spans (undefined: traces off). */
  tracing?: DeliveryTracing | undefined;
}

/** An event pushed to the host (the webhook source), with the JSON text it arrived as. */
export interface PushedEvent {
  event: Auth0Event;
  json?: string | undefined;
  /** The W3C trace context the request carried: the parent of the event's intake span. */
  trace?: TraceContext | undefined;
}

/**
 * The ingest step: a batch of events in, durably written, out to the runners. For each event it decides which
 * actions take it, and of those which runners take the delivery in memory now (held, see tracking.ts: a runner
 * with free room) and which will read it back from the store (a row). Events, deliveries and the cursor land
 * in one transaction before anything runs; duplicates (an id seen before) create nothing.
 *
 * Writes are serialised, so event keys reach the runners in increasing order (the ledger relies on it). The
 * webhook source groups concurrent requests into one push (sources/group-commit.ts).
 */
export class Ingest {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: IngestDeps) {}

  /** Write one batch of `tenant`'s stream and its cursor (the offset of its last item). */
  async write(batch: readonly StreamItem[], tenant: string = DEFAULT_TENANT): Promise<void> {
    const events: PushedEvent[] = [];
    let cursor: string | undefined;
    for (const item of batch) {
      cursor = item.offset;
      if (item.kind === "event") events.push({ event: item.event, json: item.json });
    }
    await this.serialised(() => this.writeEvents(events, cursor, "stream", tenant));
  }

  /**
   * Write events of `tenant` pushed to the host (no cursor); resolves once they are durably stored, with how
   * many were duplicates (dropped).
   */
  async push(
    events: readonly PushedEvent[],
    tenant: string = DEFAULT_TENANT,
  ): Promise<{ duplicates: number }> {
    return {
      duplicates: await this.serialised(() => this.writeEvents(events, undefined, "webhook", tenant)),
    };
  }

  /** Run `change` between two writes (a reload changing the runners): no write is halfway through it. */
  exclusive<T>(change: () => T | Promise<T>): Promise<T> {
    return this.serialised(async () => change());
  }

  private serialised<T>(write: () => Promise<T>): Promise<T> {
    const next = this.tail.then(write);
    this.tail = next.catch(() => {});
    return next;
  }

  /** Returns how many events were duplicates. */
  private async writeEvents(
    events: readonly PushedEvent[],
    cursor: string | undefined,
    source: "stream" | "webhook",
    tenant: string,
  ): Promise<number> {
    // Before the store decides what may be held: a key reopened after this is the runner's to check.
    const { runners } = this.deps;
    const marks = runners.map((runner) => runner.beginIngest());
    try {
      return await this.storeEvents(events, cursor, source, tenant, marks);
    } finally {
      runners.forEach((runner, i) => {
        runner.endIngest(marks[i]!);
      });
    }
  }

  private async storeEvents(
    events: readonly PushedEvent[],
    cursor: string | undefined,
    source: "stream" | "webhook",
    tenant: string,
    marks: readonly number[],
  ): Promise<number> {
    const { runners, store, backlog, log, tracing } = this.deps;
    if (events.length === 0 && cursor === undefined) return 0;
    const metrics = this.deps.metrics.source(tenant);
    const rows: IngestEvent[] = [];
    // Per row: the runners that take the delivery now, with its order key; the others read it from the store.
    const takers: Array<Array<[ActionRunner, string | null, number]>> = [];
    // One encoding per event, handed to every action (`event.encoded`) and stored as its payload.
    const encodings: EncodedEvent[] = [];
    const waiting = new Set<ActionRunner>();
    const free = runners.map((runner) => runner.freeSlots());
    // Traces: each event's intake span, open until the event is stored; its context is stored with it.
    const intakes: IntakeSpan[] | undefined = tracing ? [] : undefined;
    let newest: Auth0Event | undefined;
    for (const { event, json, trace } of events) {
      metrics.eventsReceived.labels(event.type).inc();
      newest = event;
      const deliveries: IngestEvent["deliveries"] = [];
      const now: Array<[ActionRunner, string | null, number]> = [];
      runners.forEach((runner, i) => {
        if (!runner.accepts(event, tenant)) return;
        const orderKey = runner.keyOf(event);
        // Events of one key in this batch are all held or all not: room only shrinks along the batch, and
        // the store declines a later one when it declines (or was given as a row) an earlier one.
        const held = free[i]! > 0 && runner.canHold(orderKey);
        if (held) {
          free[i]!--;
          now.push([runner, orderKey, marks[i]!]);
        } else {
          waiting.add(runner);
        }
        deliveries.push({ action: runner.name, orderKey, held: held });
      });
      const encoded = encodedEvent(json ?? JSON.stringify(event));
      encodings.push(encoded);
      const row: IngestEvent = { event, payload: encoded.json, deliveries };
      if (intakes) {
        const intake = tracing!.intake(event, source, trace);
        intakes.push(intake);
        row.trace = intake.trace;
      }
      rows.push(row);
      takers.push(now);
    }
    if (newest) {
      const lagMs = Date.now() - Date.parse(newest.time);
      if (Number.isFinite(lagMs)) metrics.lag.set(Math.max(0, lagMs) / 1000);
    }
    let keys: Array<number | undefined>;
    let declined: Array<[number, string]> | undefined;
    try {
      ({ keys, declined } = await store.ingest(rows, cursor, tenant));
    } catch (error) {
      if (intakes) for (const intake of intakes) intake.end("failed");
      throw new Error(`the state store cannot be written (${describeError(error)})`, { cause: error });
    }
    // Held deliveries the store wrote as rows instead (an earlier one of their key is unfinished there).
    for (const [index, action] of declined ?? []) {
      const taker = takers[index]!.find(([r]) => r.name === action);
      if (!taker) continue;
      takers[index] = takers[index]!.filter((t) => t !== taker);
      waiting.add(taker[0]);
    }
    const now = Date.now();
    let newestKey = 0;
    let duplicates = 0;
    // The history records each attempt's tenant; the default one as nothing (AttemptRecord.tenant).
    const attemptTenant = tenant === DEFAULT_TENANT ? undefined : tenant;
    rows.forEach((row, i) => {
      const key = keys[i];
      intakes?.[i]?.end(key === undefined ? "duplicate" : "stored");
      if (key === undefined) {
        duplicates++;
        metrics.duplicates.inc();
        log.debug({ eventId: row.event.id }, "duplicate event dropped");
        return;
      }
      newestKey = key;
      backlog.added(row.deliveries.length);
      const event = events[i]!.event;
      for (const [runner, orderKey, mark] of takers[i]!) {
        runner.takeHeld(key, event, encodings[i]!, now, orderKey, row.trace, attemptTenant, mark);
      }
    });
    for (const runner of runners) runner.ingested(newestKey);
    for (const runner of waiting) runner.notifyStoreWork();
    return duplicates;
  }
}
