// The broker plugins through the real host (built dist), each beside its client library's own publish loop in
// the same run: the same library, the same body bytes, the same confirm/ack awaited per message, 16 messages
// in flight (an action's default concurrency), no Switchyard. Host deliveries/s are taken from the broker's
// side: from the first message it holds to the N-th. Pairs alternate (bare, host, bare, host…); the ratio
// reported is the median pair's. `node --import tsx bench/brokers.bench.ts` (BENCH_QUICK=1: shorter).
import { randomBytes } from "node:crypto";
import { setMaxListeners } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { connect as tcp } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { headers, connect as natsConnect } from "@nats-io/transport-node";
import { type Auth0Event, createActionCache, encodedEvent, type PluginFactory } from "@switchyard/core";
import { createEventFactory } from "@switchyard/testing";
import { connect as amqpConnect } from "amqplib";
import { createClient } from "redis";
import { reportBench } from "../../../scripts/bench-report.ts";
import { startHost, startPeer, stopHost, until, writeConfig } from "./harness.ts";

const quick = process.env.BENCH_QUICK === "1";
const N = quick ? 5_000 : 20_000;
const PAIRS = quick ? 1 : 3;
const IN_FLIGHT = 16;
const CONTENT_TYPE = "application/cloudevents+json";

/** One broker: a fresh namespace per run, its action's YAML, a count of what it holds, a bare publish loop. */
interface Broker {
  name: string;
  port: number;
  /** The plugin's package: its action is also driven alone, without the host, to tell the two costs apart. */
  plugin: string;
  namespace(): Promise<Namespace>;
}
interface Namespace {
  action: string;
  /** The plugin's options for this namespace (the plugin-alone run). */
  options: Record<string, unknown>;
  count(): Promise<number>;
  /** Called after the plugin-alone run (to empty a queue it shares with the host run). */
  afterAlone?(): Promise<unknown>;
  /** Publish every body with the client alone; resolves with messages per second. */
  bare(bodies: Array<{ id: string; type: string; json: string }>): Promise<number>;
  close(): Promise<void>;
}

const rabbitmq: Broker = {
  name: "rabbitmq",
  port: 5672,
  plugin: "@switchyard/plugin-rabbitmq",
  async namespace() {
    const url = "amqp://guest:guest@127.0.0.1:5672";
    const model = await amqpConnect(url);
    const channel = await model.createChannel();
    const exchange = `sy_bench_${randomBytes(4).toString("hex")}`;
    await channel.assertExchange(exchange, "topic", { durable: false });
    const { queue } = await channel.assertQueue("", { exclusive: true });
    await channel.bindQueue(queue, exchange, "#");
    return {
      action: `plugin: "@switchyard/plugin-rabbitmq"
    with: { url: "${url}", exchange: ${exchange}, routingKey: "{type}" }`,
      options: { url, exchange, routingKey: "{type}" },
      count: async () => (await channel.checkQueue(queue)).messageCount,
      afterAlone: () => channel.purgeQueue(queue),
      async bare(bodies) {
        // The plugin's connection options that bear on speed: Nagle off.
        const publisher = await amqpConnect(url, { noDelay: true });
        const confirms = await publisher.createConfirmChannel();
        const rate = await loop(bodies, (body) => {
          return new Promise<void>((resolve, reject) => {
            confirms.publish(
              exchange,
              body.type,
              Buffer.from(body.json),
              {
                persistent: true,
                mandatory: true,
                messageId: body.id,
                type: body.type,
                contentType: CONTENT_TYPE,
                timestamp: Math.floor(Date.now() / 1000),
              },
              (error: unknown) => (error ? reject(error) : resolve()),
            );
          });
        });
        await publisher.close();
        // The bare loop published into the same queue: empty it, so that it counts the host's messages alone.
        await channel.purgeQueue(queue);
        return rate;
      },
      async close() {
        await channel.deleteExchange(exchange);
        await model.close();
      },
    };
  },
};

const nats: Broker = {
  name: "nats",
  port: 4222,
  plugin: "@switchyard/plugin-nats",
  async namespace() {
    const connection = await natsConnect({ servers: "nats://127.0.0.1:4222" });
    const jsm = await jetstreamManager(connection);
    const token = randomBytes(4).toString("hex");
    const stream = `SY_BENCH_${token}`;
    const prefix = `sy_bench_${token}`;
    await jsm.streams.add({ name: stream, subjects: [`${prefix}.>`], storage: "memory" as never });
    await jsm.streams.add({
      name: `${stream}_ALONE`,
      subjects: [`${prefix}_alone.>`],
      storage: "memory" as never,
    });
    return {
      action: `plugin: "@switchyard/plugin-nats"
    with: { servers: "nats://127.0.0.1:4222", subject: "${prefix}.{type}" }`,
      options: { servers: "nats://127.0.0.1:4222", subject: `${prefix}_alone.{type}` },
      count: async () => (await jsm.streams.info(stream)).state.messages,
      async bare(bodies) {
        // The plugin's connection options that bear on speed: no async stack traces per request.
        const publisher = await natsConnect({ servers: "nats://127.0.0.1:4222", noAsyncTraces: true });
        const js = jetstream(publisher);
        // A stream of its own: the host's run must not find these ids in the duplicate window.
        const bareStream = `${stream}_BARE`;
        await jsm.streams.add({
          name: bareStream,
          subjects: [`${prefix}_bare.>`],
          storage: "memory" as never,
        });
        const rate = await loop(bodies, async (body) => {
          const sent = headers();
          sent.set("Nats-Msg-Id", body.id);
          sent.set("ce-type", body.type);
          sent.set("Content-Type", CONTENT_TYPE);
          await js.publish(`${prefix}_bare.${body.type}`, Buffer.from(body.json), {
            msgID: body.id,
            headers: sent,
            retries: 0,
          });
        });
        await jsm.streams.delete(bareStream);
        await publisher.close();
        return rate;
      },
      async close() {
        await jsm.streams.delete(`${stream}_ALONE`);
        await jsm.streams.delete(stream);
        await connection.close();
      },
    };
  },
};

const redis: Broker = {
  name: "redis",
  port: 6379,
  plugin: "@switchyard/plugin-redis",
  async namespace() {
    const client = createClient({ url: "redis://127.0.0.1:6379" });
    await client.connect();
    const prefix = `sy_bench:${randomBytes(4).toString("hex")}:`;
    const key = `${prefix}events`;
    return {
      action: `plugin: "@switchyard/plugin-redis"
    with: { url: "redis://127.0.0.1:6379", stream: "${key}" }`,
      options: { url: "redis://127.0.0.1:6379", stream: `${prefix}alone` },
      count: () => client.xLen(key),
      // The client's own loop is a plain XADD; the plugin adds its dedupe (a SET beside it, in one script).
      async bare(bodies) {
        const publisher = createClient({ url: "redis://127.0.0.1:6379" });
        await publisher.connect();
        const rate = await loop(bodies, async (body) => {
          await publisher.xAdd(`${prefix}bare`, "*", { id: body.id, type: body.type, event: body.json });
        });
        await publisher.close();
        return rate;
      },
      async close() {
        const keys = await client.keys(`${prefix}*`);
        if (keys.length > 0) await client.del(keys);
        await client.close();
      },
    };
  },
};

/** Publish every body, IN_FLIGHT at a time, each awaited; messages per second. */
async function loop<T>(bodies: T[], publish: (body: T) => Promise<void>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < bodies.length) await publish(bodies[next++] as T);
    }),
  );
  return bodies.length / ((performance.now() - started) / 1000);
}

/** The plugin's action alone, called as the host calls it (16 attempts in flight); deliveries per second. */
async function alone(broker: Broker, namespace: Namespace, events: Auth0Event[]): Promise<number> {
  const factory = (await import(broker.plugin)).default as PluginFactory<Record<string, unknown>>;
  const action = factory(namespace.options);
  const signal = new AbortController().signal;
  setMaxListeners(0, signal);
  const noop = () => {};
  const api = {
    cache: createActionCache(),
    message: { fail: noop },
    log: { debug: noop, info: noop, warn: noop, error: noop },
    signal,
    attempt: 1,
    action: { name: "bench" },
  };
  const rate = await loop(events, async (event) => {
    await action.onExecuteEventStream(
      { message: event, secrets: {}, encoded: encodedEvent(JSON.stringify(event)) },
      api,
    );
  });
  await action.close?.();
  // RabbitMQ's plugin published into the host run's queue: empty it again.
  await namespace.afterAlone?.();
  return rate;
}

/** The host delivering the tenant's N events to one broker action; deliveries per second, broker side. */
async function hostRun(peer: Awaited<ReturnType<typeof startPeer>>, namespace: Namespace): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-bench-brokers-"));
  // BENCH_ACTION="orderBy: none" adds a line to the action (to compare settings).
  const extra = process.env.BENCH_ACTION ? `\n    ${process.env.BENCH_ACTION}` : "";
  const config = writeConfig(
    dir,
    peer.ready,
    `  - name: broker\n    events: ["*"]\n    ${namespace.action}${extra}`,
  );
  const host = startHost(config);
  let first = 0;
  let last = 0;
  const done = await until(
    async () => {
      const held = await namespace.count();
      if (held > 0 && first === 0) first = performance.now();
      if (held >= N) last = performance.now();
      return held >= N;
    },
    300_000,
    20,
  );
  await stopHost(host);
  rmSync(dir, { recursive: true, force: true });
  if (!done) throw new Error(`the broker holds fewer than ${N} messages`);
  return N / ((last - first) / 1000);
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcp(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

const peer = await startPeer();
// BENCH_DISTINCT_SUBJECTS=1: the tenant's events all about different subjects, as a tenant's users are (the
// plugin-alone run's are); without it the fake tenant's lazy log repeats 65 subjects (see e2e.bench.ts).
await peer.call(process.env.BENCH_DISTINCT_SUBJECTS === "1" ? "appendDistinct" : "appendMany", { count: N });
// Bodies the size and shape of the host's: realistic events of every type.
const factory = createEventFactory({ seed: 9 });
const bodies = factory
  .many(N)
  .map((event) => ({ id: event.id, type: event.type, json: JSON.stringify(event) }));

// BENCH_ONLY=rabbitmq|nats|redis runs one broker.
const only = process.env.BENCH_ONLY;
for (const broker of [rabbitmq, nats, redis].filter((b) => !only || b.name === only)) {
  if (!(await answers(broker.port))) {
    console.log(`${broker.name}: skipped, nothing answers on 127.0.0.1:${broker.port}`);
    continue;
  }
  const pairs: Array<{ bare: number; alone: number; host: number; ratio: number }> = [];
  for (let pair = 0; pair < PAIRS; pair++) {
    const namespace = await broker.namespace();
    try {
      const bare = await namespace.bare(bodies);
      const pluginAlone = await alone(broker, namespace, createEventFactory({ seed: 100 + pair }).many(N));
      const host = await hostRun(peer, namespace);
      pairs.push({ bare, alone: pluginAlone, host, ratio: host / bare });
    } finally {
      await namespace.close();
    }
  }
  console.log(
    `${broker.name}: ${pairs.map((p) => `bare ${Math.round(p.bare)}/s, plugin alone ${Math.round(p.alone)}/s, host ${Math.round(p.host)}/s (${p.ratio.toFixed(2)}×)`).join("; ")}`,
  );
  const median = [...pairs].sort((a, b) => a.ratio - b.ratio)[Math.floor(pairs.length / 2)]!;
  reportBench({
    name: `${broker.name} plugin through the host (median of ${pairs.length} pairs)`,
    unit: "deliveries/s",
    value: median.host,
    baseline: { name: `bare ${broker.name} client loop, ${IN_FLIGHT} in flight`, value: median.bare },
    ratio: median.ratio,
    target: "≥ 0.7×",
    pass: median.ratio >= 0.7,
  });
}
peer.child.kill();
process.exit(0);
