// Two hosts in this process on one PostgreSQL schema: what a standby gets to deliver.
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { createEventFactory, waitFor } from "@switchyard/testing";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { finishConfig } from "../src/config/load.js";
import { type Host, startHost } from "../src/host.js";
import { memorySource } from "./memory-source.js";
import { createTestSchema, postgresAvailable, type TestSchema } from "./postgres.js";

const RECORDER = fileURLToPath(new URL("./fixtures/plugins/recorder.mjs", import.meta.url));
type Attempt = { id: string; done: boolean };
const delivered = (id: string) =>
  ((globalThis as { __switchyardRecorder?: Record<string, Attempt[]> }).__switchyardRecorder?.[id] ?? [])
    .filter((a) => a.done)
    .map((a) => a.id);

let available = false;
beforeAll(async () => {
  available = await postgresAvailable();
});

let schema: TestSchema | undefined;
let hosts: Host[] = [];
afterEach(async () => {
  await Promise.all(hosts.map((host) => host.stop()));
  hosts = [];
  await schema?.drop();
  schema = undefined;
});

async function start(name: string, url: string, source: ReturnType<typeof memorySource>, logs: string[]) {
  const loaded = finishConfig(
    {
      source: { auth0: { domain: "unused.example", token: "t0ken-secret" } },
      state: url,
      server: { enabled: false },
      log: { level: "info" },
      // A slow action with little room, so that the leader alone falls far behind the stream.
      actions: [
        {
          name: "slow",
          plugin: RECORDER,
          events: ["*"],
          concurrency: 2,
          with: { id: `${url}:${name}`, delayMs: 20 },
        },
      ],
    },
    `/nonexistent/${name}/switchyard.yaml`,
    {},
  );
  const sink = new Writable({
    write(chunk, _encoding, callback) {
      logs.push(...String(chunk).trim().split("\n"));
      callback();
    },
  });
  const host = await startHost(loaded, { source, logDestination: sink });
  hosts.push(host);
  return host;
}

describe("replicas on one PostgreSQL schema", () => {
  it("the leader reads ahead into the store while its action is busy, so the standby delivers too", async (context) => {
    if (!available) return context.skip();
    schema = await createTestSchema();
    const source = memorySource();
    const logs: string[] = [];
    await start("leader", schema.url, source, logs);
    await waitFor(() => logs.some((line) => line.includes("leading the stream")));
    await start("standby", schema.url, source, logs);
    const events = createEventFactory({ seed: 3 }).many(400);
    source.push(...events);
    const ids = () => [...delivered(`${schema!.url}:leader`), ...delivered(`${schema!.url}:standby`)];
    await waitFor(() => new Set(ids()).size === events.length, { timeoutMs: 30_000 });
    // Every event once (no claim was taken twice), and the standby, which never read the stream, took a
    // share of them: rows the leader wrote for what its busy action could not take.
    expect(ids()).toHaveLength(events.length);
    expect(delivered(`${schema.url}:standby`).length).toBeGreaterThan(events.length / 5);
  });
});
