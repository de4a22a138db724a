import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { finishConfig } from "../config/load.js";
import { collectSecrets } from "../config/secrets.js";
import { traceHeaders, tracesUrl, tracingSettings } from "./index.js";

describe("tracingSettings", () => {
  it("is off unless an endpoint is configured or in OTEL_*", () => {
    expect(tracingSettings(undefined, {})).toBeUndefined();
    expect(tracingSettings({ otlp: { headers: { a: "b" } } }, {})).toBeUndefined();
  });

  it("takes the config's endpoint as a base URL, and its headers and service name", () => {
    expect(
      tracingSettings(
        { otlp: { endpoint: "http://collector:4318", headers: { k: "v" } }, serviceName: "s" },
        {},
      ),
    ).toEqual({
      url: "http://collector:4318/v1/traces",
      headers: { k: "v" },
      protocol: "http/protobuf",
      serviceName: "s",
      describe: "OTLP/HTTP http://collector:4318 (protobuf, config)",
    });
  });

  it("encodes protobuf unless the config or OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL says http/json", () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" };
    const protocol = (env: Record<string, string>, config?: "http/json" | "http/protobuf") =>
      tracingSettings(config ? { otlp: { protocol: config } } : undefined, { ...endpoint, ...env })?.protocol;
    expect(protocol({})).toBe("http/protobuf");
    expect(protocol({ OTEL_EXPORTER_OTLP_PROTOCOL: "http/json" })).toBe("http/json");
    expect(
      protocol({
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/protobuf",
      }),
    ).toBe("http/protobuf");
    // The config wins, as its endpoint does.
    expect(protocol({ OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf" }, "http/json")).toBe("http/json");
    expect(
      tracingSettings(undefined, { ...endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: "http/json" })!.describe,
    ).toBe("OTLP/HTTP http://c:4318 (JSON, OTEL_* variables)");
    // gRPC is not spoken: refused by name, not sent to a gRPC port as HTTP.
    expect(() => protocol({ OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" })).toThrow(
      /OTEL_EXPORTER_OTLP_PROTOCOL="grpc" is not supported.*http\/protobuf or http\/json/,
    );
  });

  it("is on with the standard variables, leaving the URL to the exporter, and off when they say so", () => {
    for (const name of ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]) {
      const settings = tracingSettings(undefined, { [name]: "https://otel.example:4318/v1/traces?key=x" });
      expect(settings).toMatchObject({ url: undefined, serviceName: "switchyard" });
      // The origin only: a query may hold a key.
      expect(settings!.describe).toBe("OTLP/HTTP https://otel.example:4318 (protobuf, OTEL_* variables)");
    }
    const on = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" };
    expect(tracingSettings(undefined, { ...on, OTEL_SDK_DISABLED: "true" })).toBeUndefined();
    expect(tracingSettings(undefined, { ...on, OTEL_TRACES_EXPORTER: "none" })).toBeUndefined();
  });

  it("appends /v1/traces once", () => {
    expect(tracesUrl("http://c:4318/")).toBe("http://c:4318/v1/traces");
    expect(tracesUrl("http://c:4318/otlp")).toBe("http://c:4318/otlp/v1/traces");
    expect(tracesUrl("http://c:4318/v1/traces")).toBe("http://c:4318/v1/traces");
  });
});

describe("traceHeaders", () => {
  it("takes traceparent and tracestate of a plausible size", () => {
    const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    expect(traceHeaders({})).toBeUndefined();
    expect(traceHeaders({ traceparent })).toEqual({ traceparent });
    expect(traceHeaders({ traceparent, tracestate: "a=b" })).toEqual({ traceparent, tracestate: "a=b" });
    expect(traceHeaders({ traceparent, tracestate: "a=".padEnd(600, "b") })).toEqual({ traceparent });
    expect(traceHeaders({ traceparent: "x".repeat(200) })).toBeUndefined();
    expect(traceHeaders({ traceparent: [traceparent, traceparent] })).toBeUndefined();
  });
});

describe("telemetry config", () => {
  const base = {
    source: { webhook: { port: 0, path: "/hook", auth: { bearer: "bearer-token-1" } } },
    actions: [{ name: "a", plugin: "console", events: ["*"] }],
  };

  it("refuses an endpoint that is not an http(s) URL", () => {
    expect(() =>
      finishConfig(
        { ...base, telemetry: { otlp: { endpoint: "collector:4318" } } },
        "/x/switchyard.yaml",
        {},
      ),
    ).toThrow(/telemetry\.otlp\.endpoint.*http:\/\/ or https:\/\/ URL/s);
  });

  it("treats every export header, in the config or OTEL_EXPORTER_OTLP_*HEADERS, as a secret", () => {
    const { config } = finishConfig(
      {
        ...base,
        telemetry: {
          otlp: { endpoint: "https://u:url-pass@otel.example", headers: { "x-team": "team-key-1" } },
        },
      },
      "/x/switchyard.yaml",
      {},
    );
    const secrets = collectSecrets(config, new Map(), {
      OTEL_EXPORTER_OTLP_HEADERS: "api-key=env%20key%201,other=plain-2",
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: "dd-api-key=dd-key-3",
    });
    expect(secrets).toEqual(
      expect.arrayContaining(["team-key-1", "url-pass", "env key 1", "env%20key%201", "plain-2", "dd-key-3"]),
    );
  });
});

describe("traces off cost nothing", () => {
  it("loads the OpenTelemetry SDK on the export thread (and a sampler), started by tracing.ts, which only startTracing imports (when traces are on)", () => {
    const src = fileURLToPath(new URL("..", import.meta.url));
    const files = readdirSync(src, { recursive: true, encoding: "utf8" }).filter(
      (f) => f.endsWith(".ts") && !f.endsWith(".test.ts"),
    );
    const read = (file: string) => readFileSync(join(src, file), "utf8");
    // A value import (not `import type`) of an OpenTelemetry package, or a static import of tracing.js.
    const importsSdk = (text: string) => /^import (?!type )[^;]*from "@opentelemetry\//m.test(text);
    const importsTracing = (text: string) => /^import [^;]*from "[^"]*tracing\.js"/m.test(text);
    expect(
      files
        .filter((f) => importsSdk(read(f)))
        .map((f) => relative(src, join(src, f)))
        .sort(),
    ).toEqual([join("telemetry", "export-thread.ts"), join("telemetry", "sampler.ts")]);
    expect(files.filter((f) => importsTracing(read(f)))).toEqual([]);
    expect(read(join("telemetry", "index.ts"))).toContain('await import("./tracing.js")');
    // The export thread is started by tracing.ts, by name; the sampler is imported by it, only when named.
    const tracing = read(join("telemetry", "tracing.ts"));
    expect(tracing).toContain('startThread(import.meta.url, "export-thread"');
    expect(tracing).toContain('await import("./sampler.js")');
    expect(
      files.filter((f) => /^import (?!type )[^;]*from "[^"]*(export-thread|sampler)\.js"/m.test(read(f))),
    ).toEqual([]);
  });
});
