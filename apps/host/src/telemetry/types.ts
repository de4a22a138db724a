import type { Auth0Event, Outcome, TraceContext } from "@switchyard/core";

// The shapes shared by index.ts (no OpenTelemetry code) and tracing.ts (the SDK), so neither imports the other
// for them.

/** How spans are encoded over OTLP/HTTP: protobuf (OTLP's default) or JSON. */
export const OTLP_PROTOCOLS = ["http/protobuf", "http/json"] as const;
export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number];

/** `telemetry` in the config (config/schema.ts). */
export interface TelemetryConfig {
  otlp?:
    | {
        endpoint?: string | undefined;
        headers?: Record<string, string> | undefined;
        protocol?: OtlpProtocol | undefined;
      }
    | undefined;
  serviceName?: string | undefined;
}

/** Where spans go, resolved from the config and the standard `OTEL_*` variables; undefined: traces off. */
export interface TracingSettings {
  /** The full URL spans are posted to (`…/v1/traces`); undefined: the exporter reads it from `OTEL_*`. */
  url: string | undefined;
  /** The config's headers (the exporter adds `OTEL_EXPORTER_OTLP_[TRACES_]HEADERS`; these win). */
  headers: Record<string, string>;
  protocol: OtlpProtocol;
  serviceName: string;
  /** Where the endpoint came from, for the start-up log (never the headers). */
  describe: string;
}

/** How the intake span of an event ends. */
export type IntakeEnd = "stored" | "duplicate" | "failed";

/** The span of one event's intake (stream or webhook), open until the event is stored. */
export interface IntakeSpan {
  /** Its trace context, as stored with the event (`IngestEvent.trace`). */
  readonly trace: string;
  end(how: IntakeEnd): void;
}

/** The span of one attempt, child of the event's intake span. */
export interface AttemptSpan {
  /** Its trace context, handed to the action (`api.trace`) to send with the delivery. */
  readonly context: TraceContext;
  /**
   * `exhausted`: it was the last attempt allowed (a failure is dead-lettered). `interrupted`: cut off by
   * shutdown (it runs again at the next start).
   */
  end(
    outcome: Outcome,
    detail: { status?: number | undefined; exhausted: boolean; interrupted: boolean },
  ): void;
}

/** Starts the spans of intakes and attempts; exports them in batches, off the delivery path. */
export interface DeliveryTracing {
  intake(event: Auth0Event, source: "stream" | "webhook", parent: TraceContext | undefined): IntakeSpan;
  /** `trace`: the event's stored trace context, if it has one (events stored while traces were off have none). */
  attempt(
    event: Auth0Event,
    trace: string | undefined,
    attempt: { action: string; plugin: string; number: number },
  ): AttemptSpan;
  /** Export what is buffered and stop, within `timeoutMs`. */
  shutdown(timeoutMs: number): Promise<void>;
}
