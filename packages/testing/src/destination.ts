import { randomInt } from "node:crypto";
import type { Action, Auth0Event, PluginFactory } from "@switchyard/core";
import { beforeAll, describe, expect, it, type TestContext } from "vitest";
import { createEventFactory } from "./factories.js";
import { type FaultProxy, serverAvailable, startFaultProxy, type TcpAddress } from "./fault-proxy.js";
import { findSecrets } from "./find-secrets.js";
import { type RunActionResult, runAction } from "./run-action.js";
import { waitFor } from "./wait-for.js";

/** One message as a consumer of the destination reads it. */
export interface DestinationMessage {
  /** The message id: the Auth0 event id (AMQP `messageId`, `Nats-Msg-Id`, a Redis entry's `id` field). */
  id: string;
  /** The event type carried beside the body (AMQP `type`, `ce-type`, a Redis entry's `type` field). */
  type: string;
  /** The body: the CloudEvent JSON. */
  body: string;
}

/** A fresh namespace on the real server for one test, and plugin options that publish into it. */
export interface DestinationTarget<Options> {
  /** Valid plugin options for this namespace, connecting through the `via` address given to `setup`. */
  options: Options;
  /** Every message published into the namespace so far, in the order a consumer reads them. */
  read(): Promise<DestinationMessage[]>;
  /** Remove the namespace (its exchange and queue, stream, or keys). */
  close(): Promise<void>;
}

/** What a broker plugin tells the destination suite about itself. */
export interface DestinationSuite<Options> {
  /** The plugin's name, as in its error prefix: "rabbitmq", "nats", "redis". */
  name: string;
  /** The plugin's default export. */
  factory: PluginFactory<Options>;
  /** The real server. The suite puts a fault proxy in front of it for every test. */
  server: TcpAddress;
  /** One line telling how to start the server, printed when tests skip because it is missing. */
  howToRun: string;
  /**
   * Create a namespace of this test's own (an exchange, a stream, a key prefix: tests run in parallel) and
   * options that reach the server at `via` (the fault proxy). Read it directly from the server.
   */
  setup(via: TcpAddress): Promise<DestinationTarget<Options>>;
  /** Each must throw a ConfigError naming `option` (`missing option "url"`, `option "url": …`). */
  invalidOptions: Array<{ options: unknown; option: string }>;
  /** Option values that must never appear in an outcome, an error or a log line (e.g. a URL's password). */
  secrets(options: Options): string[];
  /**
   * Options under which the plugin notices within a second or two that the network silenced its connection
   * (no answer, no reset): its heartbeat, ping or reply timeout made short for the test. Its defaults must
   * notice within a minute.
   */
  quickLiveness: Partial<Options>;
}

/** Budget of the abort tests: far below the plugins' own timeouts, so only `api.signal` can end the attempt. */
const BUDGET_MS = 300;
/** How late past its budget an attempt may return: timers, GC and a loaded CI machine. */
const BUDGET_MARGIN_MS = 1_500;
/** Budget of ordinary attempts. */
const RUN_TIMEOUT_MS = 5_000;
/** How long an event is retried after a fault before the test gives up on it. */
const RECOVERY_MS = 20_000;
/** vitest's limit for one test: past the recovery time, so a stuck delivery fails with its own message. */
const TEST_TIMEOUT_MS = 45_000;

/** Events with ids of their own: a broker keeps dedupe state between runs (a stream's duplicate window). */
const newFactory = () => createEventFactory({ seed: randomInt(1, 2 ** 31) });

interface Context<Options> {
  proxy: FaultProxy;
  target: DestinationTarget<Options>;
  action: Action;
}

/**
 * Register the conformance tests of a broker destination (vitest `describe`/`it` blocks), run against the
 * real server through a TCP fault proxy: the message contract (body, id, type), at-least-once delivery across
 * dropped and silenced connections, per-subject order, `api.signal` honoured while the broker is unreachable, secrets kept
 * out of outcomes and logs, option errors naming the option, and `close()` releasing the connection.
 * Without the server, the tests skip with one line (in CI they fail).
 */
export function describeDestination<Options>(suite: DestinationSuite<Options>): void {
  const run = (action: Action, event: Auth0Event, timeoutMs = RUN_TIMEOUT_MS) =>
    runAction(action, event, { timeoutMs, name: suite.name });
  let available = false;

  /** Run `test` with a fresh proxy, namespace and action; skipped when the server is missing. */
  function withTarget(context: TestContext, test: (context: Context<Options>) => Promise<void>) {
    if (!available) return context.skip();
    return (async () => {
      const proxy = await startFaultProxy(suite.server);
      let target: DestinationTarget<Options> | undefined;
      let action: Action | undefined;
      try {
        target = await suite.setup({ host: proxy.host, port: proxy.port });
        action = suite.factory(target.options);
        await test({ proxy, target, action });
      } finally {
        await action?.close?.();
        await target?.close();
        await proxy.close();
      }
    })();
  }

  /** Deliver `event` the way the host does: retry retryable failures; any permanent one fails the test. */
  async function deliver(action: Action, event: Auth0Event, outcomes: RunActionResult[] = []) {
    const deadline = Date.now() + RECOVERY_MS;
    for (;;) {
      const result = await run(action, event);
      outcomes.push(result);
      if (result.status === "delivered") return;
      expect(result.status, `${event.id}: ${result.message ?? ""}`).toBe("retryable");
      if (Date.now() > deadline) throw new Error(`${event.id} not delivered: ${result.message ?? ""}`);
      // A retry schedule, short: the plugin's own reconnect backoff decides when the broker is back.
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  describe(`${suite.name} destination conformance`, () => {
    beforeAll(async () => {
      available = await serverAvailable(suite.name, suite.server, suite.howToRun);
    });

    describe("options", () => {
      suite.invalidOptions.forEach(({ options, option }, index) => {
        it(`rejects invalid options #${index + 1}, naming "${option}"`, () => {
          let thrown: unknown;
          try {
            suite.factory(options as Options);
          } catch (caught) {
            thrown = caught;
          }
          expect(thrown, "the factory must throw").toBeInstanceOf(Error);
          expect((thrown as { code?: unknown }).code, "a ConfigError").toBe("CONFIG");
          const message = (thrown as Error).message;
          expect(message.startsWith(`[switchyard] [${suite.name}] `)).toBe(true);
          expect(message).toContain(`"${option}"`);
        });
      });
    });

    it(
      "publishes the CloudEvent JSON, with the event id as message id and the event type",
      (context) =>
        withTarget(context, async ({ target, action }) => {
          const factory = newFactory();
          const sent = factory.many(25);
          sent.push(factory.event("widget.created"));
          for (const event of sent) {
            const result = await run(action, event);
            expect(result.status, result.message).toBe("delivered");
          }
          const read = await readUntil(target, (messages) => messages.length >= sent.length);
          expect(read.map((message) => message.id)).toEqual(sent.map((event) => event.id));
          read.forEach((message, index) => {
            const event = sent[index]!;
            expect(message.type).toBe(event.type);
            expect(JSON.parse(message.body)).toEqual(JSON.parse(JSON.stringify(event)));
          });
        }),
      TEST_TIMEOUT_MS,
    );

    it(
      "keeps each subject's order when subjects are delivered concurrently",
      (context) =>
        withTarget(context, async ({ target, action }) => {
          const factory = newFactory();
          // Three users, each with a run of events; the host runs one subject's events one at a time.
          const subjects = [0, 1, 2].map(() => {
            const userId = factory.event("user.created").data.object.user_id;
            return ["user.created", ...Array(10).fill("user.updated"), "user.deleted"].map((type) =>
              factory.event(type, { object: { user_id: userId } }),
            );
          });
          await Promise.all(
            subjects.map(async (events) => {
              for (const event of events) await deliver(action, event);
            }),
          );
          const total = subjects.flat().length;
          const read = await readUntil(target, (messages) => messages.length >= total);
          const order = read.map((message) => message.id);
          for (const events of subjects) {
            const ids = new Set(events.map((event) => event.id));
            expect(order.filter((id) => ids.has(id))).toEqual(events.map((event) => event.id));
          }
        }),
      TEST_TIMEOUT_MS,
    );

    it(
      "delivers every event at least once across dropped connections, duplicates keeping their id",
      (context) =>
        withTarget(context, async ({ proxy, target, action }) => {
          const factory = newFactory();
          const sent = factory.many(60);
          const outcomes: RunActionResult[] = [];
          // Four lanes at once, as the host's concurrency would; the connection drops twice meanwhile.
          let delivered = 0;
          const lanes = [0, 1, 2, 3].map(async (lane) => {
            for (let index = lane; index < sent.length; index += 4) {
              await deliver(action, sent[index]!, outcomes);
              delivered++;
              if (delivered === 15 || delivered === 40) proxy.dropAll();
            }
          });
          await Promise.all(lanes);
          expect(proxy.acceptedConnections(), "the plugin reconnected").toBeGreaterThan(1);
          const byId = new Map(sent.map((event) => [event.id, event]));
          const read = await readUntil(
            target,
            (messages) => new Set(messages.map((message) => message.id)).size >= sent.length,
          );
          for (const message of read) {
            const event = byId.get(message.id);
            expect(event, `message ${message.id} is one of the events sent`).toBeDefined();
            expect(JSON.parse(message.body).id).toBe(message.id);
            expect(message.type).toBe(event?.type);
          }
          expect(new Set(read.map((message) => message.id))).toEqual(new Set(byId.keys()));
          const failures = outcomes.filter((outcome) => outcome.status !== "delivered");
          expect(failures.every((outcome) => outcome.status === "retryable")).toBe(true);
        }),
      TEST_TIMEOUT_MS,
    );

    it(
      "gives up within the time budget while the broker does not answer, then delivers again",
      (context) =>
        withTarget(context, async ({ proxy, target, action }) => {
          const factory = newFactory();
          await deliver(action, factory.event("user.created"));
          proxy.blackHole();
          const started = performance.now();
          const stalled = await run(action, factory.event("user.updated"), BUDGET_MS);
          expect(stalled.status, stalled.message).toBe("retryable");
          expect(performance.now() - started).toBeLessThan(BUDGET_MS + BUDGET_MARGIN_MS);
          proxy.heal();
          const after = factory.event("user.deleted");
          await deliver(action, after);
          await readUntil(target, (messages) => messages.some((message) => message.id === after.id));
        }),
      TEST_TIMEOUT_MS,
    );

    it(
      "opens a new connection when the network silences the one it has (no answer, no reset), and delivers",
      (context) =>
        withTarget(context, async ({ proxy, target }) => {
          const action = suite.factory({ ...target.options, ...suite.quickLiveness });
          try {
            const factory = newFactory();
            await deliver(action, factory.event("user.created"));
            const opened = proxy.acceptedConnections();
            // As after a failover to another address, or a NAT's idle timeout: the connection stays open and
            // carries nothing, so only the plugin's own liveness check can tell.
            proxy.silenceOpen();
            const after = factory.event("user.updated");
            await deliver(action, after);
            expect(proxy.acceptedConnections(), "a new connection").toBeGreaterThan(opened);
            await readUntil(target, (messages) => messages.some((message) => message.id === after.id));
          } finally {
            await action.close?.();
          }
        }),
      TEST_TIMEOUT_MS,
    );

    it(
      "gives up within the time budget while connecting to a broker that does not answer",
      (context) =>
        withTarget(context, async ({ proxy, target, action }) => {
          proxy.blackHole();
          const factory = newFactory();
          const started = performance.now();
          const stalled = await run(action, factory.event("organization.created"), BUDGET_MS);
          expect(stalled.status, stalled.message).toBe("retryable");
          expect(performance.now() - started).toBeLessThan(BUDGET_MS + BUDGET_MARGIN_MS);
          proxy.heal();
          const event = factory.event("organization.updated");
          await deliver(action, event);
          await readUntil(target, (messages) => messages.some((message) => message.id === event.id));
        }),
      TEST_TIMEOUT_MS,
    );

    it(
      "never puts a secret in an outcome, an error or a log line",
      (context) =>
        withTarget(context, async ({ proxy, target, action }) => {
          const secrets = suite.secrets(target.options).filter((secret) => secret.length > 0);
          expect(secrets.length, "secrets() names at least one value").toBeGreaterThan(0);
          const factory = newFactory();
          const results: Array<[string, RunActionResult]> = [];
          results.push(["delivered", await run(action, factory.event("user.created"))]);
          proxy.blackHole();
          results.push(["black hole", await run(action, factory.event("user.created"), BUDGET_MS)]);
          proxy.heal();
          proxy.dropAll();
          results.push(["dropped", await run(action, factory.event("user.created"))]);
          // A broker that refuses connections: the same options, through a proxy that is gone.
          const gone = await startFaultProxy(suite.server);
          await gone.close();
          const refused = await suite.setup({ host: gone.host, port: gone.port });
          const unreachable = suite.factory(refused.options);
          try {
            results.push(["refused", await run(unreachable, factory.event("user.created"), 1_000)]);
          } finally {
            await unreachable.close?.();
            await refused.close();
          }
          expect(results.some(([, result]) => result.status !== "delivered")).toBe(true);
          const leaks = results.flatMap(([label, result]) =>
            findSecrets({ message: result.message, error: result.error, logs: result.logs }, secrets).map(
              (path) => `${label}: ${path}`,
            ),
          );
          expect(leaks).toEqual([]);
        }),
      TEST_TIMEOUT_MS,
    );

    it(
      "releases its connection on close(), and close() is idempotent",
      (context) =>
        withTarget(context, async ({ proxy, action }) => {
          const result = await run(action, newFactory().event("group.created"));
          expect(result.status, result.message).toBe("delivered");
          expect(proxy.openConnections()).toBeGreaterThan(0);
          await action.close?.();
          await waitFor(() => proxy.openConnections() === 0, {
            timeoutMs: 3_000,
            message: "every connection to the broker closed",
          });
          await action.close?.();
        }),
      TEST_TIMEOUT_MS,
    );
  });
}

/** Read the namespace until `done` holds for what it holds (a broker may show a message a moment late). */
async function readUntil<Options>(
  target: DestinationTarget<Options>,
  done: (messages: DestinationMessage[]) => boolean,
): Promise<DestinationMessage[]> {
  let messages: DestinationMessage[] = [];
  await waitFor(
    async () => {
      messages = await target.read();
      return done(messages);
    },
    { message: "the messages expected in the destination" },
  );
  return messages;
}
