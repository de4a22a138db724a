import { ROOT_CONTEXT, SpanKind, trace } from "@opentelemetry/api";
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  ParentBasedSampler,
  type Sampler,
  SamplingDecision,
  TraceIdRatioBasedSampler,
} from "@opentelemetry/sdk-trace-base";

// The SDK's samplers, loaded by tracing.ts only when OTEL_TRACES_SAMPLER names one other than the default
// (parent-based, always on), which needs no call.

/** Whether a new span is sampled; `parent` is its parent's span (in the same trace), if it has one. */
export type SampleSpan = (
  traceId: string,
  parent: { spanId: string; sampled: boolean; remote: boolean } | undefined,
  name: string,
  kind: "server" | "consumer" | "producer",
) => boolean;

/** The samplers of OTEL_TRACES_SAMPLER (with OTEL_TRACES_SAMPLER_ARG) as the SDK reads them; undefined: the default. */
export function samplerFromEnv(env: Readonly<Record<string, string | undefined>>): SampleSpan | undefined {
  const sampler = named(env.OTEL_TRACES_SAMPLER?.trim().toLowerCase(), Number(env.OTEL_TRACES_SAMPLER_ARG));
  if (!sampler) return undefined;
  const kinds = { server: SpanKind.SERVER, consumer: SpanKind.CONSUMER, producer: SpanKind.PRODUCER };
  return (traceId, parent, name, kind) => {
    const context = parent
      ? trace.setSpanContext(ROOT_CONTEXT, {
          traceId,
          spanId: parent.spanId,
          traceFlags: parent.sampled ? 1 : 0,
          isRemote: parent.remote,
        })
      : ROOT_CONTEXT;
    const { decision } = sampler.shouldSample(context, traceId, name, kinds[kind], {}, []);
    return decision === SamplingDecision.RECORD_AND_SAMPLED;
  };
}

function named(name: string | undefined, arg: number): Sampler | undefined {
  const ratio = () => new TraceIdRatioBasedSampler(Number.isFinite(arg) && arg >= 0 && arg <= 1 ? arg : 1);
  switch (name) {
    case "always_on":
      return new AlwaysOnSampler();
    case "always_off":
      return new AlwaysOffSampler();
    case "traceidratio":
      return ratio();
    case "parentbased_always_off":
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case "parentbased_traceidratio":
      return new ParentBasedSampler({ root: ratio() });
    default:
      return undefined;
  }
}
