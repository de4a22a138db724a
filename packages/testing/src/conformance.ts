import {
  type Action,
  type Auth0Event,
  EVENT_TYPES,
  isAction,
  type KnownEventType,
  type PluginFactory,
  parseRetryAfter,
} from "@switchyard/core";
import { describe, expect, it } from "vitest";
import { events } from "./factories.js";
import type { Failure, FakeServer } from "./fake-server.js";
import { findSecrets } from "./find-secrets.js";
import { type RunActionResult, runAction } from "./run-action.js";
import { waitFor } from "./wait-for.js";

/** A fresh fake destination for one conformance test, and the plugin options that point at it. */
export interface ConformanceDestination {
  /** Valid plugin options pointing at the fake destination. */
  options: Record<string, unknown>;
  server: FakeServer;
  close(): Promise<void>;
}

/** What a plugin tells the shared conformance suite about itself. */
export interface ConformanceSuite<Options> {
  /** The plugin's name, as in its error prefix: "http", "slack", "segment". */
  name: string;
  /** The plugin's default export. */
  factory: PluginFactory<Options>;
  /** Start a fresh fake destination for one test. */
  setup(): Promise<ConformanceDestination>;
  /** Each must throw a ConfigError whose message matches `error`. */
  invalidOptions: Array<{ options: unknown; error: RegExp }>;
  /** Option values that must never appear in errors or logs. */
  secrets(options: Options): string[];
  /** Event types the plugin accepts (default: all 25). */
  eventTypes?: readonly KnownEventType[];
  /** Destination failures that must give a retryable outcome. */
  retryable: Failure[];
  /** Destination failures that must give a permanent outcome. */
  permanent: Failure[];
  /** Extra checks that the destination got this event. */
  delivered?(server: FakeServer, event: Auth0Event): void | Promise<void>;
  /** The expected `retryAfterMs` for the Retry-After failures in `retryable` (default: the header's value). */
  retryAfterMs?: number;
  /** Delay that exceeds the small budget used for the time-budget test (default 2000). */
  slowMs?: number;
}

const BUDGET_MS = 200;
/** How late past its budget an attempt may return: timers, GC and a loaded CI machine. */
const BUDGET_MARGIN_MS = 800;
/** Budget for ordinary runs: well under vitest's test timeout, so a hang shows up as an outcome. */
const RUN_TIMEOUT_MS = 3_000;

interface Context<Options> {
  destination: ConformanceDestination;
  server: FakeServer;
  options: Options;
  action: Action;
}

/**
 * Register the shared conformance tests for a plugin (vitest `describe`/`it` blocks): options validation,
 * delivery of every event type, retryable/permanent classification, Retry-After, the time budget, secrets
 * kept out of errors and logs, and `close()` releasing every connection.
 */
export function testAction<Options>(suite: ConformanceSuite<Options>): void {
  const types = suite.eventTypes ?? EVENT_TYPES;
  const slowMs = suite.slowMs ?? 2_000;
  const run = (action: Action, event: Auth0Event = events.userCreated(), timeoutMs = RUN_TIMEOUT_MS) =>
    runAction(action, event, { timeoutMs, name: suite.name });

  async function withAction(test: (context: Context<Options>) => Promise<void>): Promise<void> {
    const destination = await suite.setup();
    let action: Action | undefined;
    try {
      const options = destination.options as Options;
      action = suite.factory(options);
      await test({ destination, server: destination.server, options, action });
    } finally {
      await action?.close?.();
      await destination.close();
    }
  }

  describe(`${suite.name} plugin conformance`, () => {
    describe("options", () => {
      it("is named after the plugin", () => {
        expect(suite.factory.pluginName).toBe(suite.name);
      });

      suite.invalidOptions.forEach(({ options, error }, index) => {
        it(`rejects invalid options #${index + 1} (${error.source})`, () => {
          let thrown: unknown;
          try {
            suite.factory(options as Options);
          } catch (caught) {
            thrown = caught;
          }
          expect(thrown, "the factory must throw").toBeInstanceOf(Error);
          expect((thrown as { code?: unknown }).code, "a ConfigError").toBe("CONFIG");
          expect((thrown as Error).message).toMatch(error);
          expect((thrown as Error).message.startsWith(`[switchyard] [${suite.name}] `)).toBe(true);
        });
      });

      it("creates an action from valid options", () =>
        withAction(async ({ action }) => {
          expect(isAction(action)).toBe(true);
        }));
    });

    describe("delivers every accepted event type", () => {
      for (const type of types) {
        it(type, () =>
          withAction(async ({ server, action }) => {
            const event: Auth0Event = events.of(type as string);
            const result = await run(action, event);
            expectStatus(result, "delivered");
            expect(server.requests.length, "the destination got a request").toBeGreaterThan(0);
            await suite.delivered?.(server, event);
          }),
        );
      }
    });

    describe("classifies failures", () => {
      for (const failure of suite.retryable) {
        it(`retryable: ${JSON.stringify(failure)}`, () =>
          withAction(async ({ server, action }) => {
            server.failNext(failure);
            expectStatus(await run(action), "retryable");
          }));
      }
      for (const failure of suite.permanent) {
        it(`permanent: ${JSON.stringify(failure)}`, () =>
          withAction(async ({ server, action }) => {
            server.failNext(failure);
            expectStatus(await run(action), "permanent");
          }));
      }

      const withRetryAfter = suite.retryable.filter((failure) => retryAfterHeader(failure) !== undefined);
      if (withRetryAfter.length > 0 || suite.retryAfterMs !== undefined) {
        it("turns Retry-After into retryAfterMs", async () => {
          expect(withRetryAfter.length, "a retryable failure with a Retry-After header").toBeGreaterThan(0);
          for (const failure of withRetryAfter) {
            await withAction(async ({ server, action }) => {
              server.failNext(failure);
              const result = await run(action);
              expectStatus(result, "retryable");
              const expected = suite.retryAfterMs ?? parseRetryAfter(retryAfterHeader(failure));
              expect(result.retryAfterMs).toBe(expected);
            });
          }
        });
      }
    });

    it(`gives up within the time budget when the destination is slow (${BUDGET_MS} ms)`, () =>
      withAction(async ({ server, action }) => {
        expect(slowMs, "slowMs must exceed the budget").toBeGreaterThan(BUDGET_MS);
        server.failAlways({ delayMs: slowMs });
        const started = performance.now();
        const result = await run(action, events.userCreated(), BUDGET_MS);
        const elapsed = performance.now() - started;
        expectStatus(result, "retryable");
        expect(elapsed).toBeLessThan(BUDGET_MS + BUDGET_MARGIN_MS);
        // An aborted attempt must not leave the action broken for the next one.
        server.recover();
        expectStatus(await run(action), "delivered");
      }));

    it("never puts a secret in an outcome, an error or a log line", () =>
      withAction(async ({ server, options, action }) => {
        const secrets = suite.secrets(options).filter((secret) => secret.length > 0);
        expect(secrets.length, "secrets() names at least one value").toBeGreaterThan(0);
        const results: Array<[string, RunActionResult]> = [["delivered", await run(action)]];
        const failures: Failure[] = [...suite.retryable, ...suite.permanent, { drop: true }];
        for (const failure of failures) {
          server.failNext(failure);
          results.push([JSON.stringify(failure), await run(action)]);
        }
        server.failAlways({ delayMs: slowMs });
        results.push(["time budget", await run(action, events.userCreated(), BUDGET_MS)]);
        server.recover();
        expect(results.some(([, result]) => result.status !== "delivered")).toBe(true);
        // Report where a secret was found, never the secret itself.
        const leaks = results.flatMap(([label, result]) =>
          findSecrets({ message: result.message, error: result.error, logs: result.logs }, secrets).map(
            (path) => `${label}: ${path}`,
          ),
        );
        expect(leaks).toEqual([]);
      }));

    it("releases every connection on close(), and close() is idempotent", () =>
      withAction(async ({ server, action }) => {
        expectStatus(await run(action), "delivered");
        await action.close?.();
        await waitFor(() => server.openConnections() === 0, {
          timeoutMs: 2_000,
          message: "every connection to the destination closed",
        });
        await action.close?.();
      }));
  });
}

function expectStatus(result: RunActionResult, status: RunActionResult["status"]): void {
  expect(result.status, `outcome: ${result.status} ${result.message ?? ""}`).toBe(status);
}

function retryAfterHeader(failure: Failure): string | undefined {
  if (!("status" in failure) || !failure.headers) return undefined;
  for (const [name, value] of Object.entries(failure.headers)) {
    if (name.toLowerCase() === "retry-after") return value;
  }
  return undefined;
}
