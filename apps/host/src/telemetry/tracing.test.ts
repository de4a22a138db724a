import { describe, expect, it } from "vitest";
import { samplerFromEnv } from "./sampler.js";
import { parseTraceparent, validTracestate } from "./tracing.js";

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN = "00f067aa0ba902b7";

describe("a caller's trace context", () => {
  it("reads a traceparent as W3C Trace Context says", () => {
    expect(parseTraceparent(`00-${TRACE}-${SPAN}-01`)).toEqual({
      traceId: TRACE,
      spanId: SPAN,
      sampled: true,
    });
    expect(parseTraceparent(` 00-${TRACE}-${SPAN}-00 `)).toEqual({
      traceId: TRACE,
      spanId: SPAN,
      sampled: false,
    });
    // A later version may add fields; version 00 may not, ff is invalid.
    expect(parseTraceparent(`01-${TRACE}-${SPAN}-03-more`)).toMatchObject({ sampled: true });
    expect(parseTraceparent(`00-${TRACE}-${SPAN}-01-more`)).toBeUndefined();
    expect(parseTraceparent(`ff-${TRACE}-${SPAN}-01`)).toBeUndefined();
    expect(parseTraceparent(`00-${"0".repeat(32)}-${SPAN}-01`)).toBeUndefined();
    expect(parseTraceparent(`00-${TRACE}-${"0".repeat(16)}-01`)).toBeUndefined();
    expect(parseTraceparent(`00-${TRACE.toUpperCase()}-${SPAN}-01`)).toBeUndefined();
  });

  it("keeps a tracestate's valid members, at most 32", () => {
    expect(validTracestate("auth0=abc, vendor@tenant=x y")).toBe("auth0=abc,vendor@tenant=x y");
    expect(validTracestate("Bad=1,ok=2,=3,novalue,,x=a=b")).toBe("ok=2");
    expect(validTracestate("no good")).toBeUndefined();
    const many = Array.from({ length: 40 }, (_, i) => `k${i}=v`).join(",");
    expect(validTracestate(many)!.split(",")).toHaveLength(32);
  });
});

describe("samplerFromEnv", () => {
  const root = undefined;
  const sampledParent = { spanId: SPAN, sampled: true, remote: false };
  const unsampledParent = { spanId: SPAN, sampled: false, remote: true };

  it("is the default (no sampler called) unless another is named", () => {
    expect(samplerFromEnv({})).toBeUndefined();
    expect(samplerFromEnv({ OTEL_TRACES_SAMPLER: "parentbased_always_on" })).toBeUndefined();
  });

  it("follows the SDK's samplers", () => {
    const off = samplerFromEnv({ OTEL_TRACES_SAMPLER: "always_off" })!;
    expect(off(TRACE, sampledParent, "x", "producer")).toBe(false);
    const parentOff = samplerFromEnv({ OTEL_TRACES_SAMPLER: "parentbased_always_off" })!;
    expect(parentOff(TRACE, root, "x", "consumer")).toBe(false);
    expect(parentOff(TRACE, sampledParent, "x", "producer")).toBe(true);
    const on = samplerFromEnv({ OTEL_TRACES_SAMPLER: "always_on" })!;
    expect(on(TRACE, unsampledParent, "x", "server")).toBe(true);
    // A ratio of 0 samples no root; the parent's decision still holds for its children.
    const none = samplerFromEnv({
      OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
      OTEL_TRACES_SAMPLER_ARG: "0",
    })!;
    expect(none(TRACE, root, "x", "consumer")).toBe(false);
    expect(none(TRACE, sampledParent, "x", "producer")).toBe(true);
    const all = samplerFromEnv({ OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "1" })!;
    expect(all(TRACE, unsampledParent, "x", "server")).toBe(true);
  });
});
