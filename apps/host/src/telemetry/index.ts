import type { TraceContext } from "@switchyard/core";
import type { HostLogger } from "../logger.js";

// Traces are off unless configured, and then cost nothing: this module imports no OpenTelemetry code
// (`startTracing` imports tracing.ts only when an endpoint is configured, which starts the export thread,
// where the SDK is loaded), and the engine's hot paths check one optional `DeliveryTracing` for undefined.
// See tracing.ts for the spans, how a trace survives retries, restarts and replicas, and what it costs.

import {
  type DeliveryTracing,
  OTLP_PROTOCOLS,
  type OtlpProtocol,
  type TelemetryConfig,
  type TracingSettings,
} from "./types.js";

export type {
  AttemptSpan,
  DeliveryTracing,
  IntakeEnd,
  IntakeSpan,
  OtlpProtocol,
  TelemetryConfig,
  TracingSettings,
} from "./types.js";

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The tracing settings, or undefined when traces are off: on when `telemetry.otlp.endpoint`,
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT` is set, unless `OTEL_SDK_DISABLED=true`
 * or `OTEL_TRACES_EXPORTER=none`. Throws when `OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL` names one it cannot speak.
 */
export function tracingSettings(
  config: TelemetryConfig | undefined,
  env: Env = process.env,
): TracingSettings | undefined {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === "true") return undefined;
  if (env.OTEL_TRACES_EXPORTER?.trim().toLowerCase() === "none") return undefined;
  const configured = config?.otlp?.endpoint;
  const fromEnv = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (!configured && !fromEnv) return undefined;
  const url = configured ? tracesUrl(configured) : undefined;
  const protocol = config?.otlp?.protocol ?? protocolFromEnv(env);
  const encoding = protocol === "http/json" ? "JSON" : "protobuf";
  return {
    url,
    headers: config?.otlp?.headers ?? {},
    protocol,
    serviceName: config?.serviceName ?? "switchyard",
    describe: url
      ? `OTLP/HTTP ${originOf(url)} (${encoding}, config)`
      : `OTLP/HTTP ${originOf(fromEnv!)} (${encoding}, OTEL_* variables)`,
  };
}

/**
 * `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`, else `OTEL_EXPORTER_OTLP_PROTOCOL`, else OTLP's default, protobuf. The
 * host speaks OTLP over HTTP only: `grpc` (or anything else) is refused by name rather than sent to a gRPC port
 * in a form it cannot read.
 */
function protocolFromEnv(env: Env): OtlpProtocol {
  for (const name of ["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"]) {
    const value = env[name]?.trim();
    if (!value) continue;
    if ((OTLP_PROTOCOLS as readonly string[]).includes(value)) return value as OtlpProtocol;
    throw new Error(
      `${name}=${JSON.stringify(value.slice(0, 40))} is not supported: traces are exported over OTLP/HTTP, set it to ${OTLP_PROTOCOLS.join(" or ")}`,
    );
  }
  return "http/protobuf";
}

/** A collector's base URL (`http://collector:4318`) to its traces URL, as for `OTEL_EXPORTER_OTLP_ENDPOINT`. */
export function tracesUrl(endpoint: string): string {
  const url = new URL(endpoint);
  if (!url.pathname.endsWith("/v1/traces")) url.pathname = `${url.pathname.replace(/\/+$/, "")}/v1/traces`;
  return url.href;
}

/** The scheme, host and port only: a URL's path or query may hold a key. */
function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return "(an invalid URL)";
  }
}

/** Start exporting traces (loads the OpenTelemetry SDK), or undefined when they are off. */
export async function startTracing(
  config: TelemetryConfig | undefined,
  deps: { log: HostLogger; redact: (text: string) => string; version: string },
  env: Env = process.env,
): Promise<DeliveryTracing | undefined> {
  const settings = tracingSettings(config, env);
  if (!settings) return undefined;
  const { createTracing } = await import("./tracing.js");
  const tracing = await createTracing(settings, deps);
  deps.log.info({ traces: settings.describe, service: settings.serviceName }, "exporting traces");
  return tracing;
}

/** The W3C Trace Context headers of a request, if it carries a `traceparent` of a plausible size. */
export function traceHeaders(
  headers: Readonly<Record<string, string | string[] | undefined>>,
): TraceContext | undefined {
  const traceparent = headers.traceparent;
  if (typeof traceparent !== "string" || traceparent.length > 128) return undefined;
  const tracestate = headers.tracestate;
  // The spec lets a vendor drop tracestate past 512 characters; a longer one is not kept with the event.
  return typeof tracestate === "string" && tracestate.length <= 512
    ? { traceparent, tracestate }
    : { traceparent };
}
