import { randomFillSync } from "node:crypto";
import { performance } from "node:perf_hooks";
import type { Worker } from "node:worker_threads";
import type { Auth0Event, Outcome, TraceContext } from "@switchyard/core";
import type { HostLogger } from "../logger.js";
import { startThread } from "../thread.js";
import type { SampleSpan } from "./sampler.js";
import {
  type ExportThreadData,
  FIELDS,
  type FromExportThread,
  SpanOf,
  type ToExportThread,
} from "./span-record.js";
import type { AttemptSpan, DeliveryTracing, IntakeEnd, IntakeSpan, TracingSettings } from "./types.js";

// One trace per event. Its root (or, for a webhook request that carried a `traceparent`, the child of the
// caller's span) is the event's intake span, `switchyard.intake`; each attempt of each action is a child of it,
// `switchyard.attempt <action>`, so retries are later spans of the same trace.
//
// Deliveries are durable and retried later, possibly after a restart or on another replica, so the trace
// context cannot live in memory: the intake span's context (its `traceparent`, and `tracestate`) is stored
// with the event (the `trace` column of the events table, written in the ingest transaction) and comes back
// with every claim of its deliveries. It is not derived from the event id because a webhook's caller chooses
// the trace id. An event stored while traces were off has none: its attempts start traces of their own.
//
// The cost is kept off the delivery path (docs/performance.md, "Traces"). The main thread only draws ids,
// reads the clock twice and appends a span's plain values to a flat array (span-record.ts), which goes to the
// export thread (export-thread.ts) in one message per batch; there the SDK's batch processor and OTLP/HTTP
// exporter encode and send them. The OpenTelemetry tracer is not used here: its per-span context, attribute
// and time objects cost ~9 µs per span on the main thread, and the JSON encoding as much again. The sampler
// is the SDK's, from OTEL_TRACES_SAMPLER (default: parent-based, always on; then no sampler is called).

/** Spans per message to the export thread; fewer are sent after BATCH_DELAY_MS. */
const BATCH_SPANS = 1024;
const BATCH_DELAY_MS = 200;
/** Random bytes drawn at once for span and trace ids. */
const POOL_BYTES = 16 * 1024;
const VALID_STORED = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** Start the export thread; resolves once it is ready (the SDK loaded), before the first span is made. */
export async function createTracing(
  settings: TracingSettings,
  deps: { log: HostLogger; redact: (text: string) => string; version: string },
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<DeliveryTracing> {
  const data: ExportThreadData = {
    url: settings.url,
    headers: settings.headers,
    protocol: settings.protocol,
    serviceName: settings.serviceName,
    version: deps.version,
    timeOrigin: performance.timeOrigin,
  };
  const worker = startThread(import.meta.url, "export-thread", data);
  await new Promise<void>((resolve, reject) => {
    const ready = (message: FromExportThread) => {
      if (!("ready" in message)) return;
      settle();
      resolve();
    };
    const failed = (error: Error) => {
      settle();
      reject(new Error(`the trace export thread did not start: ${error.message}`));
    };
    const exited = (code: number) => failed(new Error(`it exited with code ${code}`));
    const settle = () => {
      worker.off("message", ready);
      worker.off("error", failed);
      worker.off("exit", exited);
    };
    worker.on("message", ready);
    worker.on("error", failed);
    worker.on("exit", exited);
  });
  // Another sampler loads the SDK's (sampler.ts); the default needs none, and nothing of the SDK is loaded on
  // this thread: its modules take ~90 ms of CPU to load.
  const samplerName = env.OTEL_TRACES_SAMPLER?.trim().toLowerCase();
  const sampler = DEFAULT_SAMPLERS.has(samplerName)
    ? undefined
    : (await import("./sampler.js")).samplerFromEnv(env);
  return new ThreadTracing(worker, sampler, deps);
}

/** The sampler names that mean the default, parent-based always on (see sampler.ts). */
const DEFAULT_SAMPLERS = new Set([undefined, "", "parentbased_always_on"]);

class ThreadTracing implements DeliveryTracing {
  private records: unknown[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly pool = Buffer.allocUnsafe(POOL_BYTES);
  private poolHex = "";
  private used = POOL_BYTES;
  private closed = false;
  private stopped: Promise<void> | undefined;
  private readonly onClosed = new Set<() => void>();

  constructor(
    private readonly worker: Worker,
    private readonly sampler: SampleSpan | undefined,
    private readonly deps: { log: HostLogger; redact: (text: string) => string },
  ) {
    // The thread never keeps the host running; `shutdown` lets it export what is left first.
    worker.unref();
    worker.on("message", (message: FromExportThread) => {
      if ("ready" in message) return;
      if ("warn" in message) {
        deps.log.warn(
          { spans: message.warn.spans, error: message.warn.error },
          "traces could not be exported to the collector; spans dropped (deliveries are not affected)",
        );
      } else {
        for (const done of this.onClosed) done();
      }
    });
    worker.on("error", (error) => {
      // Spans are dropped from here on; deliveries go on.
      this.closed = true;
      deps.log.error({ err: error }, "the trace export thread failed: no more spans are exported");
      for (const done of this.onClosed) done();
    });
  }

  /** `bytes` random bytes as hex (8 for a span id, 16 for a trace id). */
  id(bytes: number): string {
    if (this.used + bytes > POOL_BYTES) {
      // One conversion per pool: a Buffer's toString per id costs ~0.5 µs, a slice of this string ~20 ns.
      this.poolHex = randomFillSync(this.pool).toString("hex");
      this.used = 0;
    }
    const id = this.poolHex.slice(this.used * 2, (this.used + bytes) * 2);
    this.used += bytes;
    return id;
  }

  /** Whether a new span is sampled (its parent's flag, or yes without one, with the default sampler). */
  sampled(
    traceId: string,
    parent: Parameters<SampleSpan>[1],
    name: string,
    kind: Parameters<SampleSpan>[3],
  ): boolean {
    if (this.sampler) return this.sampler(traceId, parent, name, kind);
    return parent ? parent.sampled : true;
  }

  /**
   * The array a finished span appends its FIELDS values to, in the order of Field (span-record.ts); then
   * `appended()`. Undefined when spans are no longer exported.
   */
  batch(): unknown[] | undefined {
    return this.closed ? undefined : this.records;
  }

  /** A span was appended: send the batch when full, or after BATCH_DELAY_MS. */
  appended(): void {
    if (this.records.length >= BATCH_SPANS * FIELDS) this.flush();
    else if (this.timer === undefined) {
      this.timer = setTimeout(() => this.flush(), BATCH_DELAY_MS);
      this.timer.unref();
    }
  }

  private flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.records.length === 0 || this.closed) return;
    const message: ToExportThread = { spans: this.records };
    this.records = [];
    this.worker.postMessage(message);
  }

  intake(event: Auth0Event, source: "stream" | "webhook", parent: TraceContext | undefined): IntakeSpan {
    const caller = parent ? parseTraceparent(parent.traceparent) : undefined;
    const traceId = caller?.traceId ?? this.id(16);
    const tracestate = caller && parent?.tracestate ? validTracestate(parent.tracestate) : undefined;
    const of = source === "webhook" ? SpanOf.WebhookIntake : SpanOf.StreamIntake;
    const sampled = this.sampled(
      traceId,
      caller ? { spanId: caller.spanId, sampled: caller.sampled, remote: true } : undefined,
      "switchyard.intake",
      source === "webhook" ? "server" : "consumer",
    );
    return new Intake(this, event, of, traceId, this.id(8), caller?.spanId ?? "", tracestate, sampled);
  }

  attempt(
    event: Auth0Event,
    stored: string | undefined,
    attempt: { action: string; plugin: string; number: number },
  ): AttemptSpan {
    // The stored context: `traceparent`, then `tracestate` after a newline (see Intake.trace).
    const newline = stored ? stored.indexOf("\n") : -1;
    const traceparent = stored && newline >= 0 ? stored.slice(0, newline) : stored;
    const parent = traceparent && VALID_STORED.test(traceparent) ? traceparent : undefined;
    const traceId = parent ? parent.slice(3, 35) : this.id(16);
    const parentSpanId = parent ? parent.slice(36, 52) : "";
    const sampled = this.sampled(
      traceId,
      parent
        ? { spanId: parentSpanId, sampled: (Number.parseInt(parent.slice(53), 16) & 1) === 1, remote: false }
        : undefined,
      "switchyard.attempt",
      "producer",
    );
    const tracestate = parent && newline >= 0 ? stored!.slice(newline + 1) : undefined;
    return new Attempt(
      this,
      this.deps.redact,
      event,
      attempt,
      traceId,
      this.id(8),
      parentSpanId,
      tracestate,
      sampled,
    );
  }

  shutdown(timeoutMs: number): Promise<void> {
    this.stopped ??= new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.closed = true;
        void this.worker.terminate();
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      timer.unref();
      if (this.closed) return done();
      this.onClosed.add(done);
      // Kept alive until the last batch is exported (or the time is up).
      this.worker.ref();
      this.flush();
      this.worker.postMessage({ shutdown: true } satisfies ToExportThread);
    });
    return this.stopped;
  }
}

/** A span's `traceparent` (flags 01: sampled, 00: not). */
function traceparentOf(traceId: string, spanId: string, sampled: boolean): string {
  return `00-${traceId}-${spanId}-${sampled ? "01" : "00"}`;
}

class Intake implements IntakeSpan {
  readonly trace: string;
  private readonly start = performance.now();

  constructor(
    private readonly tracing: ThreadTracing,
    private readonly event: Auth0Event,
    private readonly of: number,
    private readonly traceId: string,
    private readonly spanId: string,
    private readonly parentSpanId: string,
    private readonly tracestate: string | undefined,
    private readonly sampled: boolean,
  ) {
    const traceparent = traceparentOf(traceId, spanId, sampled);
    this.trace = tracestate ? `${traceparent}\n${tracestate}` : traceparent;
  }

  end(how: IntakeEnd): void {
    if (!this.sampled) return;
    const batch = this.tracing.batch();
    if (!batch) return;
    const { event } = this;
    batch.push(
      this.of,
      this.traceId,
      this.spanId,
      this.parentSpanId,
      this.tracestate,
      this.start,
      performance.now(),
      event.id,
      event.type,
      how,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    );
    this.tracing.appended();
  }
}

class Attempt implements AttemptSpan {
  readonly context: TraceContext;
  private readonly start = performance.now();

  constructor(
    private readonly tracing: ThreadTracing,
    private readonly redact: (text: string) => string,
    private readonly event: Auth0Event,
    private readonly attempt: { action: string; plugin: string; number: number },
    private readonly traceId: string,
    private readonly spanId: string,
    private readonly parentSpanId: string,
    private readonly tracestate: string | undefined,
    private readonly sampled: boolean,
  ) {
    const traceparent = traceparentOf(traceId, spanId, sampled);
    this.context = tracestate ? { traceparent, tracestate } : { traceparent };
  }

  end(
    outcome: Outcome,
    detail: { status?: number | undefined; exhausted: boolean; interrupted: boolean },
  ): void {
    if (!this.sampled) return;
    let result = "delivered";
    let errorType: string | undefined;
    let message: string | undefined;
    if (outcome.status !== "delivered") {
      result =
        detail.interrupted && outcome.status !== "permanent"
          ? "interrupted"
          : outcome.status === "permanent" || detail.exhausted
            ? "dead"
            : "retrying";
      errorType = errorTypeOf(outcome.error, outcome.status);
      // The same redacted, bounded text the attempt's record keeps.
      message = this.redact(outcome.message).slice(0, 2000);
    }
    const batch = this.tracing.batch();
    if (!batch) return;
    const { event, attempt } = this;
    batch.push(
      SpanOf.Attempt,
      this.traceId,
      this.spanId,
      this.parentSpanId,
      this.tracestate,
      this.start,
      performance.now(),
      event.id,
      event.type,
      attempt.action,
      attempt.plugin,
      attempt.number,
      result,
      detail.status,
      errorType,
      message,
    );
    this.tracing.appended();
  }
}

/** `error.type`: the error's class name (`RetryableError`, `PermanentError`, `TypeError`…), never its text. */
function errorTypeOf(error: unknown, status: "retryable" | "permanent"): string {
  if (error instanceof Error && error.name) return error.name;
  return status === "permanent" ? "PermanentError" : "RetryableError";
}

// W3C Trace Context (https://www.w3.org/TR/trace-context/): a caller's headers, read as the spec says.
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZEROS = /^0+$/;
const TRACESTATE_MEMBER =
  /^(?:[a-z0-9][_0-9a-z\-*/]{0,255}|[a-z0-9][_0-9a-z\-*/]{0,240}@[a-z][_0-9a-z\-*/]{0,13})=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;

/** A caller's `traceparent`: its trace id, span id and sampled flag; undefined when it is not valid. */
export function parseTraceparent(
  header: string,
): { traceId: string; spanId: string; sampled: boolean } | undefined {
  const match = TRACEPARENT.exec(header.trim());
  if (!match) return undefined;
  const [, version, traceId, spanId, flags, rest] = match as unknown as [
    string,
    string,
    string,
    string,
    string,
    string?,
  ];
  // Version ff is invalid; version 00 has nothing after the flags (a later version may).
  if (version === "ff" || (version === "00" && rest !== undefined)) return undefined;
  if (ZEROS.test(traceId) || ZEROS.test(spanId)) return undefined;
  return { traceId, spanId, sampled: (Number.parseInt(flags, 16) & 1) === 1 };
}

/** A caller's `tracestate`, its invalid members left out (at most 32 kept); undefined when none is valid. */
export function validTracestate(header: string): string | undefined {
  const members = header
    .split(",")
    .map((member) => member.trim())
    .filter((member) => TRACESTATE_MEMBER.test(member))
    .slice(0, 32);
  return members.length > 0 ? members.join(",") : undefined;
}
