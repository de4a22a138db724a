import {
  type Context,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import { ExportResultCode, parseTraceParent, TraceState } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import {
  defaultResource,
  detectResources,
  envDetector,
  resourceFromAttributes,
} from "@opentelemetry/resources";
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
} from "@opentelemetry/sdk-trace-base";
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_SERVICE_NAME,
  ATTR_SERVICE_VERSION,
} from "@opentelemetry/semantic-conventions";
import type { Auth0Event, Outcome, TraceContext } from "@switchyard/core";
import type { HostLogger } from "../logger.js";
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
// Spans are exported by a batch processor (bounded queue, `OTEL_BSP_*`): a slow or unreachable collector
// drops spans, never delays a delivery. `shutdown` exports what is left, within a time limit.

/** Semantic-convention names still in the incubating set, copied as the conventions recommend. */
const CLOUDEVENTS_EVENT_ID = "cloudevents.event_id";
const CLOUDEVENTS_EVENT_TYPE = "cloudevents.event_type";

/** At most one warning a minute about spans that could not be exported. */
const WARN_EVERY_MS = 60_000;

export function createTracing(
  settings: TracingSettings,
  deps: { log: HostLogger; redact: (text: string) => string; version: string },
): DeliveryTracing {
  const exporter = new LoggingExporter(
    new OTLPTraceExporter({
      ...(settings.url ? { url: settings.url } : {}),
      ...(Object.keys(settings.headers).length > 0 ? { headers: settings.headers } : {}),
    }),
    deps.log,
  );
  // The config names the service; OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (the env detector) win.
  const resource = defaultResource()
    .merge(
      resourceFromAttributes({
        [ATTR_SERVICE_NAME]: settings.serviceName,
        [ATTR_SERVICE_VERSION]: deps.version,
      }),
    )
    .merge(detectResources({ detectors: [envDetector] }));
  // The sampler comes from OTEL_TRACES_SAMPLER (default: parent-based, always on).
  const provider = new BasicTracerProvider({
    resource,
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  return new SdkTracing(provider, provider.getTracer("switchyard", deps.version), deps.redact);
}

class SdkTracing implements DeliveryTracing {
  private stopped: Promise<void> | undefined;

  constructor(
    private readonly provider: BasicTracerProvider,
    private readonly tracer: Tracer,
    private readonly redact: (text: string) => string,
  ) {}

  intake(event: Auth0Event, source: "stream" | "webhook", parent: TraceContext | undefined): IntakeSpan {
    const span = this.tracer.startSpan(
      "switchyard.intake",
      {
        kind: source === "webhook" ? SpanKind.SERVER : SpanKind.CONSUMER,
        attributes: {
          "switchyard.source": source,
          [CLOUDEVENTS_EVENT_ID]: event.id,
          [CLOUDEVENTS_EVENT_TYPE]: event.type,
        },
      },
      parent ? contextOf(parent, true) : ROOT_CONTEXT,
    );
    return new Intake(span, stored(span.spanContext()));
  }

  attempt(
    event: Auth0Event,
    stored: string | undefined,
    attempt: { action: string; plugin: string; number: number },
  ): AttemptSpan {
    const span = this.tracer.startSpan(
      `switchyard.attempt ${attempt.action}`,
      {
        kind: SpanKind.PRODUCER,
        attributes: {
          "switchyard.action": attempt.action,
          "switchyard.plugin": attempt.plugin,
          "switchyard.attempt": attempt.number,
          [CLOUDEVENTS_EVENT_ID]: event.id,
          [CLOUDEVENTS_EVENT_TYPE]: event.type,
        },
      },
      stored ? contextOf(parseStored(stored), false) : ROOT_CONTEXT,
    );
    return new Attempt(span, this.redact);
  }

  shutdown(timeoutMs: number): Promise<void> {
    this.stopped ??= new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      timer.unref();
      this.provider.shutdown().then(
        () => {
          clearTimeout(timer);
          resolve();
        },
        () => {
          clearTimeout(timer);
          resolve();
        },
      );
    });
    return this.stopped;
  }
}

class Intake implements IntakeSpan {
  constructor(
    private readonly span: Span,
    readonly trace: string,
  ) {}

  end(how: IntakeEnd): void {
    if (how === "duplicate") this.span.setAttribute("switchyard.duplicate", true);
    if (how === "failed") {
      this.span.setStatus({ code: SpanStatusCode.ERROR, message: "the event could not be stored" });
    }
    this.span.end();
  }
}

class Attempt implements AttemptSpan {
  readonly context: TraceContext;

  constructor(
    private readonly span: Span,
    private readonly redact: (text: string) => string,
  ) {
    const sc = span.spanContext();
    this.context = traceContext(sc);
  }

  end(
    outcome: Outcome,
    detail: { status?: number | undefined; exhausted: boolean; interrupted: boolean },
  ): void {
    const span = this.span;
    if (detail.status !== undefined) span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, detail.status);
    if (outcome.status === "delivered") {
      span.setAttribute("switchyard.outcome", "delivered");
    } else {
      const result =
        detail.interrupted && outcome.status !== "permanent"
          ? "interrupted"
          : outcome.status === "permanent" || detail.exhausted
            ? "dead"
            : "retrying";
      span.setAttribute("switchyard.outcome", result);
      span.setAttribute(ATTR_ERROR_TYPE, errorType(outcome.error, outcome.status));
      // The same redacted, bounded text the attempt's record keeps.
      span.setStatus({ code: SpanStatusCode.ERROR, message: this.redact(outcome.message).slice(0, 2000) });
    }
    span.end();
  }
}

/** An exporter that says (at most once a minute, in the host's log) when spans could not be sent. */
class LoggingExporter implements SpanExporter {
  private warnedAt = 0;
  private failed = 0;

  constructor(
    private readonly inner: SpanExporter,
    private readonly log: HostLogger,
  ) {}

  export(spans: ReadableSpan[], done: Parameters<SpanExporter["export"]>[1]): void {
    this.inner.export(spans, (result) => {
      if (result.code !== ExportResultCode.SUCCESS) {
        this.failed += spans.length;
        const now = Date.now();
        if (now - this.warnedAt >= WARN_EVERY_MS) {
          this.warnedAt = now;
          this.log.warn(
            { spans: this.failed, error: result.error?.message },
            "traces could not be exported to the collector; spans dropped (deliveries are not affected)",
          );
          this.failed = 0;
        }
      }
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

/** The context whose span is `parent` (a caller's, or the stored intake span). */
function contextOf(parent: TraceContext | undefined, remote: boolean): Context {
  const parsed = parent && parseTraceParent(parent.traceparent);
  if (!parsed) return ROOT_CONTEXT;
  const spanContext: SpanContext = { ...parsed, isRemote: remote };
  if (parent.tracestate) {
    try {
      spanContext.traceState = new TraceState(parent.tracestate);
    } catch {
      // A malformed tracestate is dropped; the traceparent still holds.
    }
  }
  return trace.setSpanContext(ROOT_CONTEXT, spanContext);
}

function traceContext(sc: SpanContext): TraceContext {
  const traceparent = `00-${sc.traceId}-${sc.spanId}-0${(sc.traceFlags & 1).toString(16)}`;
  const tracestate = sc.traceState?.serialize();
  return tracestate ? { traceparent, tracestate } : { traceparent };
}

/** A span context as the events table keeps it: `traceparent`, then `tracestate` after a newline. */
function stored(sc: SpanContext): string {
  const { traceparent, tracestate } = traceContext(sc);
  return tracestate ? `${traceparent}\n${tracestate}` : traceparent;
}

function parseStored(text: string): TraceContext {
  const newline = text.indexOf("\n");
  return newline < 0
    ? { traceparent: text }
    : { traceparent: text.slice(0, newline), tracestate: text.slice(newline + 1) };
}

/** `error.type`: the error's class name (`RetryableError`, `PermanentError`, `TypeError`…), never its text. */
function errorType(error: unknown, status: "retryable" | "permanent"): string {
  if (error instanceof Error && error.name) return error.name;
  return status === "permanent" ? "PermanentError" : "RetryableError";
}
