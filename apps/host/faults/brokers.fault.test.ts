// The broker plugins under the check: a few thousand events of every type through a host with a
// RabbitMQ, a NATS and a Redis action, the host SIGKILLed and the broker connections dropped mid-run (each
// plugin reaches its broker through a fault proxy of this test's own, so other users of the shared brokers
// are left alone); then every queue, subject and stream is read: each event arrives, duplicates only by
// redelivery with the same id, each subject in order, with the contract's fields. `pnpm test:faults`.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect as natsConnect } from "@nats-io/transport-node";
import { type Auth0Event, EVENT_TYPES } from "@switchyard/core";
import {
  createEventFactory,
  type FaultProxy,
  serverAvailable,
  startFakeTenant,
  startFaultProxy,
  waitFor,
} from "@switchyard/testing";
import { connect as amqpConnect } from "amqplib";
import { createClient } from "redis";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { type CliProcess, startCli } from "../test/cli.js";
import { cleanupList, seededRandom } from "./harness.js";

const seed = Number(process.env.FAULT_SEED ?? 20261204);
const random = seededRandom(seed);
const cleanup = cleanupList();
afterEach(() => cleanup.run());

const RABBIT = { host: "127.0.0.1", port: 5672 };
const NATS = { host: "127.0.0.1", port: 4222 };
const REDIS = { host: "127.0.0.1", port: 6379 };
let available = false;
beforeAll(async () => {
  const how = "start the brokers as .ci/run does";
  available =
    (await serverAvailable("rabbitmq", RABBIT, how)) &&
    (await serverAvailable("nats", NATS, how)) &&
    (await serverAvailable("redis", REDIS, how));
});

/** One message as read back: its id, type and body, and the subject it belongs to. */
interface Read {
  id: string;
  type: string;
  body: string;
}

/**
 * `count` events cycling through every type; users and organizations drawn from small pools, so each
 * subject has many events and order within a subject means something.
 */
function feedEvents(count: number): Auth0Event[] {
  const factory = createEventFactory({ seed });
  const users = Array.from({ length: 40 }, (_, i) => `auth0|fault${seed}u${i}`);
  const orgs = Array.from({ length: 12 }, (_, i) => `org_fault${seed}o${i}`);
  return Array.from({ length: count }, (_, i) => {
    const type = EVENT_TYPES[i % EVENT_TYPES.length] as string;
    const pick = <T>(list: T[]) => list[Math.floor(random() * list.length)] as T;
    if (type.startsWith("user.")) return factory.event(type, { object: { user_id: pick(users) } });
    if (/^organization\.(created|updated|deleted)$/.test(type)) {
      return factory.event(type, { object: { id: pick(orgs) } });
    }
    if (type.startsWith("organization.")) {
      const event = factory.event(type);
      const object = event.data.object as { organization?: { id: string } };
      if (object.organization) object.organization = { ...object.organization, id: pick(orgs) };
      return event;
    }
    return factory.event(type);
  });
}

/**
 * Every event of `wanted` arrived, with its type and body, and nothing else; the events of each ordering key
 * (the action's `orderBy`) in stream order. Returns how many copies arrived beyond one per event.
 */
function check(
  name: string,
  wanted: Auth0Event[],
  read: Read[],
  keyOf: (event: Auth0Event) => string | undefined,
): number {
  const byId = new Map(wanted.map((event) => [event.id, event]));
  for (const message of read) {
    const event = byId.get(message.id);
    expect(event, `${name}: ${message.id} is one of the events meant for it`).toBeDefined();
    expect(message.type).toBe(event?.type);
    expect(JSON.parse(message.body)).toEqual(event);
  }
  expect(new Set(read.map((message) => message.id)).size, `${name}: every event arrived`).toBe(wanted.length);
  // Order: per subject, the first copy of each event comes in the order the stream gave them.
  const firsts = [...new Set(read.map((message) => message.id))];
  const position = new Map(firsts.map((id, index) => [id, index]));
  const subjects = new Map<string, Auth0Event[]>();
  for (const event of wanted) {
    const subject = keyOf(event);
    if (subject !== undefined) subjects.set(subject, [...(subjects.get(subject) ?? []), event]);
  }
  for (const [subject, events] of subjects) {
    const positions = events.map((event) => position.get(event.id) ?? -1);
    const sorted = [...positions].sort((a, b) => a - b);
    expect(positions, `${name}: subject ${subject} in stream order`).toEqual(sorted);
  }
  return read.length - wanted.length;
}

/** The host's `orderBy: user` key: the user an event is about. */
function userOf(event: Auth0Event): string | undefined {
  const object = event.data.object as {
    user_id?: unknown;
    user?: { user_id?: unknown };
    member?: { member_type?: unknown; id?: unknown };
  };
  const key =
    object.user_id ??
    object.user?.user_id ??
    (object.member?.member_type === "user" ? object.member.id : undefined);
  return typeof key === "string" ? key : undefined;
}

/** The host's `orderBy: organization` key. */
function organizationOf(event: Auth0Event): string | undefined {
  const object = event.data.object as { id?: unknown; organization?: { id?: unknown } };
  const key = object.organization?.id ?? (event.type.startsWith("organization.") ? object.id : undefined);
  return typeof key === "string" ? key : undefined;
}

describe("fault suite: the broker plugins", () => {
  it(`deliver every event through SIGKILLs and dropped connections, in subject order (seed ${seed})`, async (context) => {
    if (!available) context.skip();
    const token = randomBytes(5).toString("hex");
    const dir = mkdtempSync(join(tmpdir(), "switchyard-faults-brokers-"));
    cleanup.add(() => rmSync(dir, { recursive: true, force: true }));
    const tenant = await startFakeTenant({ heartbeatMs: 200, cutEvery: 701 });
    cleanup.add(() => tenant.close());
    const proxies: FaultProxy[] = [];
    for (const server of [RABBIT, NATS, REDIS]) {
      const proxy = await startFaultProxy(server);
      cleanup.add(() => proxy.close());
      proxies.push(proxy);
    }
    const [rabbitProxy, natsProxy, redisProxy] = proxies as [FaultProxy, FaultProxy, FaultProxy];

    // RabbitMQ: an exchange and a queue bound to every key, consumed as the run goes.
    const amqp = await amqpConnect("amqp://guest:guest@127.0.0.1:5672");
    cleanup.add(() => amqp.close());
    const channel = await amqp.createChannel();
    const exchange = `sy_fault_${token}`;
    await channel.assertExchange(exchange, "topic", { durable: false });
    cleanup.add(() => channel.deleteExchange(exchange));
    const { queue } = await channel.assertQueue("", { exclusive: true });
    await channel.bindQueue(queue, exchange, "#");
    const rabbitRead: Read[] = [];
    await channel.consume(
      queue,
      (message) => {
        if (!message) return;
        rabbitRead.push({
          id: String(message.properties.messageId),
          type: String(message.properties.type),
          body: message.content.toString(),
        });
      },
      { noAck: true },
    );
    // NATS: a stream capturing this run's subjects.
    const nats = await natsConnect({ servers: "nats://127.0.0.1:4222" });
    cleanup.add(() => nats.close());
    const jsm = await jetstreamManager(nats);
    const stream = `SY_FAULT_${token}`;
    await jsm.streams.add({ name: stream, subjects: [`sy_fault_${token}.>`], storage: "memory" as never });
    cleanup.add(() => jsm.streams.delete(stream));
    // Redis: a stream key of this run's own.
    const redis = createClient({ url: "redis://127.0.0.1:6379" });
    await redis.connect();
    cleanup.add(() => redis.close());
    const redisKey = `sy_fault:${token}:events`;
    cleanup.add(async () => {
      const keys = await redis.keys(`sy_fault:${token}:*`);
      if (keys.length > 0) await redis.del(keys);
    });

    const config = join(dir, "switchyard.yaml");
    writeFileSync(
      config,
      `source:
  auth0: { domain: "${tenant.url}", token: "${tenant.token}", fromTimestamp: "2026-01-01T00:00:00Z" }
state: ./state
server: { enabled: false }
delivery: { shutdownGraceMs: 1000 }
actions:
  - name: to-rabbit
    plugin: "@switchyard/plugin-rabbitmq"
    events: ["*"]
    orderBy: user
    timeoutMs: 2000
    retry: { maxAttempts: 1000, initialDelayMs: 20, maxDelayMs: 300 }
    pauseAfterFailures: 0
    with: { url: "amqp://guest:\${RABBIT_PASSWORD}@${rabbitProxy.address}", exchange: ${exchange}, routingKey: "{type}" }
  - name: to-nats
    plugin: "@switchyard/plugin-nats"
    events: ["user.*"]
    orderBy: user
    timeoutMs: 2000
    retry: { maxAttempts: 1000, initialDelayMs: 20, maxDelayMs: 300 }
    pauseAfterFailures: 0
    with: { servers: "nats://${natsProxy.address}", subject: "sy_fault_${token}.{type}" }
  - name: to-redis
    plugin: "@switchyard/plugin-redis"
    events: ["organization.*"]
    orderBy: organization
    timeoutMs: 2000
    retry: { maxAttempts: 1000, initialDelayMs: 20, maxDelayMs: 300 }
    pauseAfterFailures: 0
    with: { url: "redis://${redisProxy.address}", stream: "${redisKey}", maxLen: 1000000 }
`,
    );
    const env = { RABBIT_PASSWORD: "guest" };
    const host = (): CliProcess => {
      const cli = startCli(["start", "--config", config], env);
      cleanup.add(() => cli.child.kill("SIGKILL"));
      return cli;
    };

    const events = feedEvents(3_000);
    let fed = 0;
    const feed = (n: number) => {
      const chunk = events.slice(fed, fed + n);
      fed += chunk.length;
      if (chunk.length) tenant.append(chunk);
    };
    // Four hosts SIGKILLed mid-run, each once it is delivering; meanwhile the broker connections drop.
    const distinct = (read: Read[]) => new Set(read.map((message) => message.id)).size;
    const hosts = 4;
    for (let k = 0; k < hosts; k++) {
      const running = host();
      feed(600);
      const before = distinct(rabbitRead);
      await waitFor(() => distinct(rabbitRead) >= before + 100 + Math.floor(random() * 100), {
        timeoutMs: 30_000,
        message: `host ${k + 1} delivering`,
      });
      // A drop must find the plugin connected, and the run goes on once it has reconnected: the check below
      // (more connections than host runs) then holds whatever the timing.
      const dropped = k === 2 ? proxies : [proxies[k % 3]!];
      await waitFor(() => dropped.every((proxy) => proxy.openConnections() > 0), {
        timeoutMs: 30_000,
        message: `host ${k + 1}'s plugins connected before the drop`,
      });
      const acceptedBefore = dropped.map((proxy) => proxy.acceptedConnections());
      for (const proxy of dropped) proxy.dropAll();
      await waitFor(() => dropped.every((proxy, i) => proxy.acceptedConnections() > acceptedBefore[i]!), {
        timeoutMs: 30_000,
        message: `host ${k + 1}'s plugins reconnected after the drop`,
      });
      await waitFor(() => distinct(rabbitRead) >= before + 300 + Math.floor(random() * 200), {
        timeoutMs: 30_000,
        message: `host ${k + 1} delivering again after the drop`,
      });
      running.child.kill("SIGKILL");
      await running.exited;
    }
    feed(events.length);
    const last = host();

    const wanted = {
      rabbit: events,
      nats: events.filter((event) => event.type.startsWith("user.")),
      redis: events.filter((event) => event.type.startsWith("organization.")),
    };
    const readNats = async (): Promise<Read[]> => {
      const info = await jsm.streams.info(stream);
      const read: Read[] = [];
      for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
        const message = await jsm.streams.getMessage(stream, { seq });
        if (message) {
          read.push({
            id: message.header.get("Nats-Msg-Id"),
            type: message.header.get("ce-type"),
            body: message.string(),
          });
        }
      }
      return read;
    };
    const readRedis = async (): Promise<Read[]> =>
      (await redis.xRange(redisKey, "-", "+")).map(({ message }) => ({
        id: String(message.id),
        type: String(message.type),
        body: String(message.event),
      }));
    let natsRead: Read[] = [];
    let redisRead: Read[] = [];
    await waitFor(
      async () => {
        if (distinct(rabbitRead) < wanted.rabbit.length) return false;
        redisRead = await readRedis();
        if (distinct(redisRead) < wanted.redis.length) return false;
        natsRead = await readNats();
        return distinct(natsRead) >= wanted.nats.length;
      },
      { timeoutMs: 45_000, intervalMs: 250, message: "every event in every broker" },
    ).catch((error: Error) => {
      throw new Error(
        `${error.message}: rabbit ${distinct(rabbitRead)}/${wanted.rabbit.length}, nats ${distinct(natsRead)}/${wanted.nats.length}, redis ${distinct(redisRead)}/${wanted.redis.length}`,
      );
    });

    const duplicates = {
      rabbitmq: check("rabbitmq", wanted.rabbit, rabbitRead, userOf),
      nats: check("nats", wanted.nats, natsRead, userOf),
      redis: check("redis", wanted.redis, redisRead, organizationOf),
    };
    // Each plugin lost its connection to a drop, not only to a SIGKILL: more connections than host runs.
    for (const proxy of proxies) expect(proxy.acceptedConnections()).toBeGreaterThan(hosts + 1);
    console.log(
      `broker fault run (seed ${seed}): ${events.length} events, ${hosts} SIGKILLs, connections per broker ${proxies.map((proxy) => proxy.acceptedConnections()).join("/")}; copies beyond one:`,
      duplicates,
    );

    last.child.kill("SIGTERM");
    expect((await last.exited).code).toBe(0);
  }, 120_000);
});
