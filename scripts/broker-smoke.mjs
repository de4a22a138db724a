// `node broker-smoke.mjs <plugin>`, run by pack-install.mjs inside an empty npm project where only that
// plugin was installed from its tarball: one event through the plugin to the real local broker, read back
// with the broker's own client (a dependency of the plugin, so installed beside it). Not a workspace file.
import { randomBytes } from "node:crypto";
import { connect as tcp } from "node:net";
import { createActionCache } from "@switchyard/core";

const name = process.argv[2];
const plugin = (await import(name)).default;
const token = randomBytes(5).toString("hex");
const event = {
  specversion: "1.0",
  type: "user.created",
  source: "urn:auth0:acme.us.auth0.com",
  id: `evt_pack${token}${randomBytes(4).toString("hex")}`.slice(0, 26),
  time: new Date().toISOString(),
  data: {
    object: {
      user_id: "auth0|65f0c1d2e3a4b5c6d7e8f901",
      email: "ada@example.com",
      created_at: "2026-11-01T00:00:00.000Z",
      updated_at: "2026-11-01T00:00:00.000Z",
      identities: [],
    },
  },
  a0tenant: "acme",
  a0stream: "est_9hJk2LmN4pQr6StU8vWx0Y",
};

// Each broker: its port, a namespace of this run's own, the plugin's options, and a reader.
const brokers = {
  "@switchyard/plugin-rabbitmq": {
    port: 5672,
    async prepare() {
      const { connect } = await import("amqplib");
      const model = await connect("amqp://guest:guest@127.0.0.1:5672");
      const channel = await model.createChannel();
      const exchange = `sy_pack_${token}`;
      await channel.assertExchange(exchange, "topic", { durable: false });
      const { queue } = await channel.assertQueue("", { exclusive: true });
      await channel.bindQueue(queue, exchange, "#");
      return {
        options: { url: "amqp://guest:guest@127.0.0.1:5672", exchange, routingKey: "{type}" },
        async read() {
          const message = await channel.get(queue, { noAck: true });
          return message && { id: message.properties.messageId, body: message.content.toString() };
        },
        async close() {
          await channel.deleteExchange(exchange);
          await model.close();
        },
      };
    },
  },
  "@switchyard/plugin-nats": {
    port: 4222,
    async prepare() {
      const { connect } = await import("@nats-io/transport-node");
      const { jetstreamManager } = await import("@nats-io/jetstream");
      const connection = await connect({ servers: "nats://127.0.0.1:4222" });
      const jsm = await jetstreamManager(connection);
      const stream = `SY_PACK_${token}`;
      await jsm.streams.add({ name: stream, subjects: [`sy_pack_${token}.>`], storage: "memory" });
      return {
        options: { servers: "nats://127.0.0.1:4222", subject: `sy_pack_${token}.{type}` },
        async read() {
          const message = await jsm.streams.getMessage(stream, { seq: 1 }).catch(() => null);
          return message && { id: message.header.get("Nats-Msg-Id"), body: message.string() };
        },
        async close() {
          await jsm.streams.delete(stream);
          await connection.close();
        },
      };
    },
  },
  "@switchyard/plugin-redis": {
    port: 6379,
    async prepare() {
      const { createClient } = await import("redis");
      const client = createClient({ url: "redis://127.0.0.1:6379" });
      await client.connect();
      const stream = `sy_pack:${token}:events`;
      return {
        options: { url: "redis://127.0.0.1:6379", stream, maxLen: 1000 },
        async read() {
          const [entry] = await client.xRange(stream, "-", "+");
          return entry && { id: entry.message.id, body: entry.message.event };
        },
        async close() {
          await client.del([stream, ...(await client.keys(`sy_pack:${token}:*`))]);
          await client.close();
        },
      };
    },
  },
};

const broker = brokers[name];
if (!broker) throw new Error(`no broker smoke test for ${name}`);
if (!(await answers(broker.port))) {
  if (process.env.CI === "true") throw new Error(`nothing answers on 127.0.0.1:${broker.port}`);
  console.log(`skipped: nothing answers on 127.0.0.1:${broker.port} (start the broker to check ${name})`);
  process.exit(0);
}
const target = await broker.prepare();
const action = plugin(target.options);
const noop = () => {};
try {
  await action.onExecuteEventStream(
    { message: event, secrets: {} },
    {
      cache: createActionCache(),
      log: { debug: noop, info: noop, warn: noop, error: noop },
      signal: AbortSignal.timeout(10_000),
      attempt: 1,
      action: { name: "smoke" },
    },
  );
  let read;
  for (let i = 0; i < 100 && !read; i++) {
    read = await target.read();
    if (!read) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  if (read?.id !== event.id || JSON.parse(read.body).id !== event.id) {
    console.log(`the broker holds ${JSON.stringify(read)}, not the event`);
    process.exitCode = 1;
  } else console.log(`delivered ${event.type} to the broker, read back with id ${read.id}`);
} finally {
  await action.close?.();
  await target.close();
}

function answers(port) {
  return new Promise((resolve) => {
    const socket = tcp(port, "127.0.0.1");
    socket.once("connect", () => resolve(true) || socket.destroy());
    socket.once("error", () => resolve(false));
  });
}
