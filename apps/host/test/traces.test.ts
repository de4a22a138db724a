// OpenTelemetry traces end to end: a host exports to an OTLP/HTTP receiver started here, which decodes what
// it is sent (protobuf by default, JSON when asked: otlp.ts), and an HTTP destination records the
// `traceparent` of each delivery. Every delivery must name a span the receiver got, in the trace of its event's intake span.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createEventFactory,
  type FakeServer,
  startFakeServer,
  startFakeTenant,
  waitFor,
} from "@switchyard/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { finishConfig } from "../src/config/load.js";
import type { SwitchyardConfigInput } from "../src/config/schema.js";
import { type Host, startHost } from "../src/host.js";
import { startCli, tenantEnv } from "./cli.js";
import { lineSink } from "./log-lines.js";
import { memorySource } from "./memory-source.js";
import { decodeExport } from "./otlp.js";

/** `00-<trace id>-<span id>-<flags>` */
function parseTraceparent(value: unknown): { traceId: string; spanId: string } {
  const match = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/.exec(String(value));
  if (!match) throw new Error(`not a traceparent: ${String(value)}`);
  return { traceId: match[1]!, spanId: match[2]! };
}

const factory = createEventFactory({ seed: 25 });
let dir: string;
let hosts: Host[] = [];
let servers: FakeServer[] = [];
let logs: string[] = [];
let otlp: FakeServer;
const spans = () =>
  otlp.requests.flatMap((r) =>
    r.path === "/v1/traces" ? decodeExport(r.bytes, r.headers["content-type"]) : [],
  );

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "switchyard-traces-"));
  logs = [];
  // A collector answers an export with an empty ExportTraceServiceResponse, in the request's encoding.
  otlp = await startFakeServer((request) =>
    request.headers["content-type"] === "application/json"
      ? { status: 200, headers: { "content-type": "application/json" }, body: {} }
      : { status: 200, headers: { "content-type": "application/x-protobuf" }, body: "" },
  );
  servers = [otlp];
});
afterEach(async () => {
  await Promise.all(hosts.map((h) => h.stop()));
  hosts = [];
  await Promise.all(servers.map((s) => s.close()));
  rmSync(dir, { recursive: true, force: true });
});

async function start(receiver: string, extra: Partial<SwitchyardConfigInput> = {}, source = memorySource()) {
  const loaded = finishConfig(
    {
      source: { auth0: { domain: "unused.example", token: "t0ken-secret" } },
      state: join(dir, "state"),
      server: { port: 0 },
      log: { level: "info" },
      telemetry: { otlp: { endpoint: otlp.url, headers: { "x-collector-key": "collector-s3cret" } } },
      actions: [
        {
          name: "hook",
          plugin: "@switchyard/plugin-http",
          events: ["*"],
          with: { url: `${receiver}/in` },
          retry: { maxAttempts: 3, initialDelayMs: 20 },
        },
      ],
      ...extra,
    },
    join(dir, "switchyard.yaml"),
    {},
  );
  const sink = lineSink((line) => logs.push(line));
  const host = await startHost(loaded, { source, logDestination: sink });
  hosts.push(host);
  return { host, source };
}

async function stop(host: Host) {
  await host.stop();
  hosts = hosts.filter((h) => h !== host);
}

/** Each delivery's traceparent names an attempt span the receiver got, child of the event's intake span. */
function expectTraced(deliveries: ReadonlyArray<{ headers: Record<string, unknown> }>, eventId: string) {
  const got = spans();
  const intakes = got.filter(
    (s) =>
      s.name === "switchyard.intake" &&
      s.attributes["cloudevents.event_id"] === eventId &&
      s.attributes["switchyard.duplicate"] === undefined,
  );
  expect(intakes).toHaveLength(1);
  const intake = intakes[0]!;
  const attempts = deliveries.map((delivery) => {
    const { traceId, spanId } = parseTraceparent(delivery.headers.traceparent);
    const span = got.find((s) => s.spanId === spanId);
    expect(span, `the span ${spanId} of a delivery's traceparent`).toBeDefined();
    expect(span!.traceId).toBe(traceId);
    expect(span!.traceId).toBe(intake.traceId);
    expect(span!.parentSpanId).toBe(intake.spanId);
    expect(span!.name).toBe("switchyard.attempt hook");
    return span!;
  });
  return { intake, attempts };
}

describe("traces", () => {
  it("puts an event's intake and every attempt, retries included, in one trace that each delivery continues", async () => {
    const receiver = await startFakeServer();
    servers.push(receiver);
    receiver.failNext({ status: 503 });
    const { host, source } = await start(receiver.url);
    const event = factory.byType["user.created"]();
    source.push(event);
    const deliveries = await receiver.waitForRequests(2);
    // Shutdown exports the spans still buffered (the batch processor's delay is 5 s).
    await stop(host);
    const { intake, attempts } = expectTraced(deliveries, event.id);
    expect(intake.attributes).toMatchObject({
      "switchyard.source": "stream",
      "cloudevents.event_type": "user.created",
    });
    expect(intake.service).toBe("switchyard");
    expect(attempts.map((a) => a.attributes)).toEqual([
      expect.objectContaining({
        "switchyard.action": "hook",
        "switchyard.plugin": "@switchyard/plugin-http",
        "switchyard.attempt": 1,
        "switchyard.outcome": "retrying",
        "http.response.status_code": 503,
        "error.type": "RetryableError",
      }),
      expect.objectContaining({ "switchyard.attempt": 2, "switchyard.outcome": "delivered" }),
    ]);
    expect(attempts[0]!.status).toMatchObject({ code: 2, message: expect.stringContaining("503") });
    // Encoded as protobuf, OTLP's default.
    expect(otlp.requests.map((r) => r.headers["content-type"])).toEqual(
      otlp.requests.map(() => "application/x-protobuf"),
    );
    // The collector's key went with each export and never to the log.
    expect(otlp.requests[0]!.headers["x-collector-key"]).toBe("collector-s3cret");
    expect(logs.join("\n")).not.toContain("collector-s3cret");
    expect(logs.join("\n")).toContain("exporting traces");
  });

  it("exports JSON when asked for http/json", async () => {
    const receiver = await startFakeServer();
    servers.push(receiver);
    const { host, source } = await start(receiver.url, {
      telemetry: { otlp: { endpoint: otlp.url, protocol: "http/json" } },
    });
    const event = factory.byType["user.updated"]();
    source.push(event);
    const deliveries = await receiver.waitForRequests(1);
    await stop(host);
    expect(otlp.requests.length).toBeGreaterThan(0);
    for (const request of otlp.requests) expect(request.headers["content-type"]).toBe("application/json");
    expect(expectTraced(deliveries, event.id).attempts).toHaveLength(1);
  });

  it("continues the event's trace in a retry after a restart: the context is stored with the event", async () => {
    const receiver = await startFakeServer();
    servers.push(receiver);
    receiver.failNext({ status: 500 });
    const extra = {
      actions: [
        {
          name: "hook",
          plugin: "@switchyard/plugin-http",
          events: ["*"],
          with: { url: `${receiver.url}/in` },
          // Due long after the first host stopped: the second host claims it from the store.
          retry: { maxAttempts: 3, initialDelayMs: 1_500 },
        },
      ],
    };
    const first = await start(receiver.url, extra);
    const event = factory.byType["user.deleted"]();
    first.source.push(event);
    await receiver.waitForRequests(1);
    await stop(first.host);
    expect(receiver.requests).toHaveLength(1);
    const second = await start(receiver.url, extra);
    const deliveries = await receiver.waitForRequests(2);
    await stop(second.host);
    const { attempts } = expectTraced(deliveries, event.id);
    expect(attempts.map((a) => a.attributes["switchyard.attempt"])).toEqual([1, 2]);
  });

  it("makes a webhook request's traceparent the parent of its event's intake span; a duplicate's intake says so", async () => {
    const receiver = await startFakeServer();
    servers.push(receiver);
    const { host } = await start(receiver.url, {
      source: { webhook: { port: 0, path: "/auth0/events", auth: { bearer: "hook-secret-1" } } },
    });
    const url = await waitFor(() => logs.map((l) => /"webhook (http:[^"]+)"/.exec(l)?.[1]).find(Boolean));
    const event = factory.byType["organization.created"]();
    const caller = { traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7" };
    const post = () =>
      fetch(url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          authorization: "Bearer hook-secret-1",
          traceparent: `00-${caller.traceId}-${caller.spanId}-01`,
          tracestate: "auth0=abc",
        },
        body: JSON.stringify(event),
      });
    expect((await post()).status).toBe(200);
    const deliveries = await receiver.waitForRequests(1);
    // Auth0 delivers at least once: the repeat is stored as nothing, and its intake span says so.
    expect((await post()).status).toBe(200);
    await stop(host);
    expect(receiver.requests).toHaveLength(1);
    const repeat = spans().filter((s) => s.attributes["switchyard.duplicate"] === true);
    expect(repeat).toEqual([expect.objectContaining({ name: "switchyard.intake", traceId: caller.traceId })]);
    const { intake } = expectTraced(deliveries, event.id);
    expect(intake).toMatchObject({ traceId: caller.traceId, parentSpanId: caller.spanId });
    expect(intake.attributes["switchyard.source"]).toBe("webhook");
    expect(deliveries[0]!.headers.tracestate).toBe("auth0=abc");
  });

  it("follows an unsampled caller: its deliveries carry flags 00, and none of its spans is exported", async () => {
    const receiver = await startFakeServer();
    servers.push(receiver);
    const { host, source } = await start(receiver.url, {
      source: { webhook: { port: 0, path: "/auth0/events", auth: { bearer: "hook-secret-1" } } },
    });
    const url = await waitFor(() => logs.map((l) => /"webhook (http:[^"]+)"/.exec(l)?.[1]).find(Boolean));
    const unsampled = factory.byType["user.created"]();
    const caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";
    const answer = await fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: "Bearer hook-secret-1",
        traceparent: caller,
      },
      body: JSON.stringify(unsampled),
    });
    expect(answer.status).toBe(200);
    // An event of the stream (no caller) in the same run is sampled, as the default sampler says.
    const sampled = factory.byType["user.deleted"]();
    source.push(sampled);
    const deliveries = await receiver.waitForRequests(2);
    await stop(host);
    const of = (id: string) => deliveries.find((d) => (d.json as { id: string }).id === id)!;
    expect(String(of(unsampled.id).headers.traceparent)).toMatch(
      /^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-00$/,
    );
    expect(spans().filter((s) => s.traceId === "4bf92f3577b34da6a3ce929d0e0e4736")).toEqual([]);
    expectTraced([of(sampled.id)], sampled.id);
  });

  it("exports the last spans when the CLI is stopped with SIGTERM", async () => {
    const receiver = await startFakeServer();
    servers.push(receiver);
    const tenant = await startFakeTenant({ heartbeatMs: 500 });
    try {
      const config = join(dir, "switchyard.yaml");
      writeFileSync(
        config,
        [
          "source:",
          '  auth0: { domain: "${AUTH0_DOMAIN}", clientId: "${AUTH0_CLIENT_ID}", clientSecret: "${AUTH0_CLIENT_SECRET}" }',
          "state: ./state",
          "server: { port: 0 }",
          `telemetry: { otlp: { endpoint: "${otlp.url}" } }`,
          "actions:",
          "  - name: hook",
          '    plugin: "@switchyard/plugin-http"',
          '    events: ["*"]',
          `    with: { url: "${receiver.url}/in" }`,
          "",
        ].join("\n"),
      );
      const env = {
        ...tenantEnv(tenant),
      };
      const cli = startCli(["start", "--config", config], env, dir);
      try {
        await cli.waitForLog("stream connected");
        const event = factory.byType["user.created"]();
        tenant.append([event]);
        const deliveries = await receiver.waitForRequests(1);
        // Within the batch processor's 5 s delay: only the shutdown exports them.
        expect(spans()).toEqual([]);
        cli.child.kill("SIGTERM");
        expect((await cli.exited).code).toBe(0);
        expectTraced(deliveries, event.id);
      } finally {
        cli.child.kill("SIGKILL");
      }
    } finally {
      await tenant.close();
    }
  }, 30_000);

  it("delivers as usual while the collector is unreachable, and stops in bounded time", async () => {
    const receiver = await startFakeServer();
    servers.push(receiver);
    const gone = await startFakeServer();
    const deadUrl = gone.url;
    await gone.close();
    const { host, source } = await start(receiver.url, { telemetry: { otlp: { endpoint: deadUrl } } });
    const events = factory.many(20);
    source.push(...events);
    await receiver.waitForRequests(20);
    const stopping = Date.now();
    await stop(host);
    expect(Date.now() - stopping).toBeLessThan(8_000);
    expect(receiver.requests.every((r) => typeof r.headers.traceparent === "string")).toBe(true);
  });

  it("sends no traceparent and exports nothing when telemetry is not configured", async () => {
    const receiver = await startFakeServer();
    servers.push(receiver);
    const { host, source } = await start(receiver.url, { telemetry: undefined });
    source.push(factory.byType["user.created"]());
    const [delivery] = await receiver.waitForRequests(1);
    await stop(host);
    expect(delivery!.headers.traceparent).toBeUndefined();
    expect(otlp.requests).toHaveLength(0);
    expect(logs.join("\n")).not.toContain("exporting traces");
  });
});
