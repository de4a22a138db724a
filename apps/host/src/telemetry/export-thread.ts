import { parentPort, workerData } from "node:worker_threads";
import { type Attributes, type HrTime, type SpanContext, SpanKind, SpanStatusCode } from "@opentelemetry/api";
import {
  addHrTimes,
  ExportResultCode,
  hrTimeDuration,
  millisToHrTime,
  TraceState,
} from "@opentelemetry/core";
import {
  defaultResource,
  detectResources,
  envDetector,
  type Resource,
  resourceFromAttributes,
} from "@opentelemetry/resources";
import { BatchSpanProcessor, type ReadableSpan, type SpanExporter } from "@opentelemetry/sdk-trace-base";
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_SERVICE_NAME,
  ATTR_SERVICE_VERSION,
} from "@opentelemetry/semantic-conventions";
import {
  type ExportThreadData,
  FIELDS,
  Field,
  type FromExportThread,
  SpanOf,
  type ToExportThread,
} from "./span-record.js";

// The export thread: it turns the main thread's span records (span-record.ts) into the SDK's spans and hands
// them to the SDK's batch processor and OTLP/HTTP exporter, so that encoding each batch (JSON) and sending it
// take no time from deliveries. The batch processor keeps its bounded queue (`OTEL_BSP_*`): a slow or
// unreachable collector drops spans, never delays a delivery. On `shutdown` it exports what is left.

/** Semantic-convention names still in the incubating set, copied as the conventions recommend. */
const CLOUDEVENTS_EVENT_ID = "cloudevents.event_id";
const CLOUDEVENTS_EVENT_TYPE = "cloudevents.event_type";

/** At most one warning a minute about spans that could not be exported. */
const WARN_EVERY_MS = 60_000;

const data = workerData as ExportThreadData;
const port = parentPort!;
const send = (message: FromExportThread) => port.postMessage(message);

let warnedAt = 0;
let dropped = 0;

/** Tell the main thread (at most once a minute) how many spans were dropped since it was last told. */
function drop(spans: number, error: string | undefined): void {
  dropped += spans;
  const now = Date.now();
  if (now - warnedAt >= WARN_EVERY_MS) {
    warnedAt = now;
    send({ warn: { spans: dropped, error } });
    dropped = 0;
  }
}

/** An exporter that says when spans could not be sent. */
class WarningExporter implements SpanExporter {
  constructor(private readonly inner: SpanExporter) {}

  export(spans: ReadableSpan[], done: Parameters<SpanExporter["export"]>[1]): void {
    this.inner.export(spans, (result) => {
      if (result.code !== ExportResultCode.SUCCESS) drop(spans.length, result.error?.message);
      done(result);
    });
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

// The exporter of the protocol asked for (only its module is loaded): protobuf by default, as OTLP says;
// it also takes fewer bytes and less of this thread's time to encode than JSON.
const { OTLPTraceExporter } =
  data.protocol === "http/json"
    ? await import("@opentelemetry/exporter-trace-otlp-http")
    : await import("@opentelemetry/exporter-trace-otlp-proto");
const processor = new BatchSpanProcessor(
  new WarningExporter(
    new OTLPTraceExporter({
      ...(data.url ? { url: data.url } : {}),
      ...(Object.keys(data.headers).length > 0 ? { headers: data.headers } : {}),
    }),
  ),
);
// The config names the service; OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (the env detector) win.
const resource: Resource = defaultResource()
  .merge(
    resourceFromAttributes({ [ATTR_SERVICE_NAME]: data.serviceName, [ATTR_SERVICE_VERSION]: data.version }),
  )
  .merge(detectResources({ detectors: [envDetector] }));
const scope = { name: "switchyard", version: data.version };
const origin = millisToHrTime(data.timeOrigin);
/** The last tracestate parsed: an event's attempts repeat their intake's. */
let lastState: { text: string; state: TraceState } | undefined;

function traceState(text: unknown): TraceState | undefined {
  if (typeof text !== "string") return undefined;
  if (lastState?.text !== text) lastState = { text, state: new TraceState(text) };
  return lastState.state;
}

/** The span recorded at `at` in `records`, as the SDK's exporter reads a finished span. */
function toSpan(records: unknown[], at: number): ReadableSpan {
  const field = (index: number) => records[at + index];
  const of = field(Field.Of) as number;
  const traceId = field(Field.TraceId) as string;
  const state = traceState(field(Field.TraceState));
  const context: SpanContext = { traceId, spanId: field(Field.SpanId) as string, traceFlags: 1 };
  if (state) context.traceState = state;
  const parentSpanId = field(Field.ParentSpanId) as string;
  const startTime: HrTime = addHrTimes(origin, millisToHrTime(field(Field.Start) as number));
  const endTime: HrTime = addHrTimes(origin, millisToHrTime(field(Field.End) as number));
  const attributes: Attributes = {};
  let status: ReadableSpan["status"] = { code: SpanStatusCode.UNSET };
  let name: string;
  let kind: SpanKind;
  if (of === SpanOf.Attempt) {
    name = `switchyard.attempt ${field(Field.Action) as string}`;
    kind = SpanKind.PRODUCER;
    attributes["switchyard.action"] = field(Field.Action) as string;
    attributes["switchyard.plugin"] = field(Field.Plugin) as string;
    attributes["switchyard.attempt"] = field(Field.Attempt) as number;
    attributes[CLOUDEVENTS_EVENT_ID] = field(Field.EventId) as string;
    attributes[CLOUDEVENTS_EVENT_TYPE] = field(Field.EventType) as string;
    const httpStatus = field(Field.HttpStatus);
    if (typeof httpStatus === "number") attributes[ATTR_HTTP_RESPONSE_STATUS_CODE] = httpStatus;
    attributes["switchyard.outcome"] = field(Field.Outcome) as string;
    const errorType = field(Field.ErrorType);
    if (typeof errorType === "string") {
      attributes[ATTR_ERROR_TYPE] = errorType;
      status = { code: SpanStatusCode.ERROR, message: field(Field.ErrorMessage) as string };
    }
  } else {
    name = "switchyard.intake";
    kind = of === SpanOf.WebhookIntake ? SpanKind.SERVER : SpanKind.CONSUMER;
    attributes["switchyard.source"] = of === SpanOf.WebhookIntake ? "webhook" : "stream";
    attributes[CLOUDEVENTS_EVENT_ID] = field(Field.EventId) as string;
    attributes[CLOUDEVENTS_EVENT_TYPE] = field(Field.EventType) as string;
    const end = field(Field.Action);
    if (end === "duplicate") attributes["switchyard.duplicate"] = true;
    if (end === "failed") status = { code: SpanStatusCode.ERROR, message: "the event could not be stored" };
  }
  return {
    name,
    kind,
    spanContext: () => context,
    // An intake's parent is the webhook caller's span; an attempt's, its event's intake span (stored).
    parentSpanContext: parentSpanId
      ? {
          traceId,
          spanId: parentSpanId,
          traceFlags: 1,
          isRemote: of !== SpanOf.Attempt,
          ...(state ? { traceState: state } : {}),
        }
      : undefined,
    startTime,
    endTime,
    duration: hrTimeDuration(startTime, endTime),
    status,
    attributes,
    links: [],
    events: [],
    ended: true,
    resource,
    instrumentationScope: scope,
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}

// The spans received and not yet handed to the batch processor, as their messages. The main thread sends
// them in bursts (a message of up to 1,024 spans at a time, and all it made while this thread was starting),
// faster than the processor's own bounded queue takes them: it would drop them. So they wait here, in a queue
// of the same bound (OTEL_BSP_MAX_QUEUE_SIZE, dropped beyond it), and go on to the processor after each
// batch (OTEL_BSP_MAX_EXPORT_BATCH_SIZE) it took was exported. Fewer than a batch stay in the processor, for
// its own delay (OTEL_BSP_SCHEDULE_DELAY).
const maxQueue = positive(process.env.OTEL_BSP_MAX_QUEUE_SIZE, 2048);
const maxBatch = Math.min(maxQueue, positive(process.env.OTEL_BSP_MAX_EXPORT_BATCH_SIZE, 512));
const waiting: unknown[][] = [];
/** Where the next span of the first message waiting starts. */
let next = 0;
let queued = 0;
/** Spans handed to the processor since its last flush (it exports a full batch on its own, meanwhile). */
let unflushed = 0;
/** The pump while it runs (it may finish without waiting, within the call that starts it). */
let pumping: Promise<void> | undefined;

function positive(text: string | undefined, otherwise: number): number {
  const value = Number(text);
  return Number.isInteger(value) && value > 0 ? value : otherwise;
}

function startPump(): void {
  if (pumping) return;
  const running = pump().finally(() => {
    if (pumping === running) pumping = undefined;
  });
  pumping = running;
}

async function pump(): Promise<void> {
  while (waiting.length > 0) {
    const records = waiting[0]!;
    while (next + FIELDS <= records.length) {
      processor.onEnd(toSpan(records, next));
      next += FIELDS;
      queued--;
      if (++unflushed >= maxBatch) {
        unflushed = 0;
        // A failed export was dropped and said so (WarningExporter).
        await processor.forceFlush().catch(() => {});
      }
    }
    waiting.shift();
    next = 0;
  }
}

port.on("message", (message: ToExportThread) => {
  if ("spans" in message) {
    const count = message.spans.length / FIELDS;
    // A message larger than the bound (a small OTEL_BSP_MAX_QUEUE_SIZE) is taken when nothing waits.
    if (queued > 0 && queued + count > maxQueue) return drop(count, "the export queue is full");
    waiting.push(message.spans);
    queued += count;
    startPump();
    return;
  }
  // Export what is left, then say so; the main thread ends the thread.
  void (async () => {
    while (pumping) await pumping;
    if (waiting.length > 0) await pump();
    await processor.shutdown().catch(() => {});
    send({ closed: true });
  })();
});

send({ ready: true });
