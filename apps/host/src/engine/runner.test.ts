import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type Action,
  type Auth0Event,
  createActionCache,
  encodedEvent,
  PermanentError,
} from "@switchyard/core";
import { createEventFactory, waitFor } from "@switchyard/testing";
import Database from "better-sqlite3";
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { actionSchema } from "../config/schema.js";
import { createMetrics } from "../metrics.js";
import { inline } from "../store/open.js";
import { openSqliteStore } from "../store/sqlite/index.js";
import type { StateStore } from "../store/types.js";
import { ActionRunner } from "./runner.js";
import { CompletionWriter } from "./tracking.js";

const factory = createEventFactory({ seed: 9 });
let dir: string;
let store: StateStore;
const runners: ActionRunner[] = [];
const writers: CompletionWriter[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "switchyard-runner-"));
  store = inline(openSqliteStore(join(dir, "switchyard.db")));
});
afterEach(async () => {
  for (const runner of runners.splice(0)) await runner.stop(100);
  for (const writer of writers.splice(0)) await writer.flush();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A runner for `action`, with its events already written to the store as held deliveries. */
async function runnerFor(action: Action, config: Record<string, unknown> = {}, userCode = false) {
  const completions = new CompletionWriter(store, (error) => {
    throw error;
  });
  writers.push(completions);
  const runner = new ActionRunner({
    config: actionSchema.parse({ name: "a", plugin: "console", events: ["*"], ...config }),
    action,
    cache: createActionCache(),
    store,
    completions,
    metrics: createMetrics(),
    log: pino({ level: "silent" }),
    redact: (text) => text.replaceAll("s3cret", "[redacted]"),
    userCode,
  });
  runners.push(runner);
  completions.attach({
    watermarks: (out) => [runner.checkpoint(Date.now(), out)!],
    flushed: (batch) => runner.afterFlush(batch),
  });
  const hold = async (events: Auth0Event[]) => {
    const { keys } = await store.ingest(
      events.map((event) => ({
        event,
        payload: JSON.stringify(event),
        deliveries: [{ action: "a", orderKey: null, held: true }],
      })),
      undefined,
    );
    events.forEach((event, i) => {
      runner.takeHeld(keys[i]!, event, encodedEvent(JSON.stringify(event)), Date.now());
    });
  };
  runner.start();
  return { runner, hold };
}

/** Two events about the same user, in stream order: an ordered action delivers them in that order. */
function twoOfOneUser(): [Auth0Event, Auth0Event] {
  const [first, second] = factory
    .many(40)
    .filter((e) => e.type.startsWith("user."))
    .slice(0, 2)
    .map((e) => {
      (e.data.object as { user_id: string }).user_id = "auth0|same";
      return e;
    });
  return [first!, second!];
}

describe("ActionRunner", () => {
  it("sends to the store a held delivery whose key reopened during its ingest: it runs after the retry", async () => {
    // An ingest's store decision (hold it in memory) may predate the retry row of an earlier event of its
    // key (on Postgres the two run on different connections): that delivery must not overtake the retry.
    const delivered: string[] = [];
    let failedOnce = false;
    const { runner } = await runnerFor(
      {
        onExecuteEventStream: (event) => {
          if (!failedOnce) {
            failedOnce = true;
            throw new Error("503 once");
          }
          delivered.push(event.message.id);
        },
      },
      { retry: { maxAttempts: 5, initialDelayMs: 100, maxDelayMs: 100 } },
    );
    const [first, second] = twoOfOneUser();
    const ingest = async (event: Auth0Event, mark?: number) => {
      const orderKey = runner.keyOf(event);
      const { keys } = await store.ingest(
        [{ event, payload: JSON.stringify(event), deliveries: [{ action: "a", orderKey, held: true }] }],
        undefined,
      );
      runner.takeHeld(
        keys[0]!,
        event,
        encodedEvent(JSON.stringify(event)),
        Date.now(),
        orderKey,
        undefined,
        undefined,
        mark,
      );
    };
    // The second event's ingest begins; meanwhile the first fails and its retry row is written.
    const mark = runner.beginIngest();
    await ingest(first);
    await waitFor(() => failedOnce);
    await writers[0]!.flush();
    await ingest(second, mark);
    runner.endIngest(mark);
    await waitFor(() => delivered.length === 2, { message: "both events delivered" });
    expect(delivered).toEqual([first.id, second.id]);
  });

  it("sends back a claimed row whose key reopened during its claim: it runs after the retry", async () => {
    // A claim's rows may be chosen from a view older than the retry row of an earlier event of their key (on
    // Postgres the claim and the completions run on different connections): they must not overtake it.
    const delivered: string[] = [];
    let fail: (() => void) | undefined;
    let failed = false;
    const { runner } = await runnerFor(
      {
        onExecuteEventStream: async (event) => {
          if (!failed) {
            await new Promise<void>((resolve) => {
              fail = resolve;
            });
            failed = true;
            throw new Error("503 once");
          }
          delivered.push(event.message.id);
        },
      },
      { retry: { maxAttempts: 5, initialDelayMs: 100, maxDelayMs: 100 } },
    );
    const [first, second] = twoOfOneUser();
    const write = async (event: Auth0Event) => {
      await store.ingest(
        [
          {
            event,
            payload: JSON.stringify(event),
            deliveries: [{ action: "a", orderKey: runner.keyOf(event), held: false }],
          },
        ],
        undefined,
      );
      runner.notifyStoreWork();
    };
    // Claims are answered late, from the view they were chosen in.
    const claim = store.claim.bind(store);
    let late: Promise<void> | undefined;
    let chosen = 0;
    store.claim = async (...args) => {
      const rows = await claim(...args);
      if (late && rows.length > 0) {
        chosen++;
        await late;
      }
      return rows;
    };
    await write(first);
    await waitFor(() => fail !== undefined, { message: "the first event's attempt" });
    // The second row is claimed while the first is in flight here; the answer comes after the retry row.
    let answer!: () => void;
    late = new Promise((resolve) => {
      answer = resolve;
    });
    await write(second);
    await waitFor(() => chosen === 1, { message: "the second row chosen" });
    fail!();
    // The first event's retry row is written (pending, due in 100 ms).
    const retries = new Database(join(dir, "switchyard.db"), { readonly: true });
    await waitFor(async () => {
      await writers[0]!.flush();
      return retries.prepare("SELECT 1 FROM deliveries WHERE status = 0 AND attempts = 1").get();
    });
    retries.close();
    answer();
    await waitFor(() => delivered.length === 2, { message: "both events delivered" });
    expect(delivered).toEqual([first.id, second.id]);
  });

  it("retries with backoff, then dead-letters after maxAttempts with the last error, redacted", async () => {
    const attempts: number[] = [];
    const { hold } = await runnerFor(
      {
        onExecuteEventStream: (_event, api) => {
          attempts.push(api.attempt);
          throw new Error("down (key s3cret)");
        },
      },
      { retry: { maxAttempts: 3, initialDelayMs: 5, maxDelayMs: 10 } },
    );
    const [event] = factory.many(1);
    await hold([event!]);
    const [dead] = await waitFor(async () => {
      const listed = await store.listDead();
      return listed.length > 0 ? listed : undefined;
    });
    expect(attempts).toEqual([1, 2, 3]);
    expect(dead).toMatchObject({ action: "a", eventId: event!.id, attempts: 3 });
    expect(dead!.lastError).toMatch(/gave up after 3 attempts: Error: down \(key \[redacted\]\)/);
  });

  it("attempts nothing while its circuit breaker is open: waiting deliveries keep their attempts", async () => {
    let calls = 0;
    const { runner, hold } = await runnerFor(
      {
        onExecuteEventStream: () => {
          calls++;
          throw new Error("connect ECONNREFUSED");
        },
      },
      {
        concurrency: 1,
        orderBy: "none",
        circuitBreaker: { failures: 2, coolDownMs: 60_000 },
        retry: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 1 },
      },
    );
    await hold(factory.many(5));
    await waitFor(() => runner.pacingView().breaker === "open");
    // Two failed attempts opened it. The three others wait, their first attempt not made, and the two retries
    // (due at once) come back from the store and wait too: with maxAttempts 2, an attempt would kill them.
    await waitFor(() => runner.load().queued === 5);
    expect(runner.load().inflight).toBe(0);
    expect(calls).toBe(2);
    expect(await store.countDead({})).toBe(0);
    // Recorded in the store, for `actions list` and the other replicas (no replica id given: "host").
    await waitFor(async () => (await store.breakers()).length === 1);
    const [record] = await store.breakers();
    expect(record).toMatchObject({ action: "a", replica: "host", state: "open" });
    expect(record!.until! - record!.since).toBe(60_000);
    // A runner that stops closes its breaker's record: with no runner, nothing holds deliveries back.
    await runner.stop(100);
    expect(await store.breakers()).toEqual([]);
  });

  it("dead-letters a PermanentError at once", async () => {
    const { hold } = await runnerFor({
      onExecuteEventStream: () => {
        throw new PermanentError("refused");
      },
    });
    await hold(factory.many(1));
    await waitFor(async () => (await store.countDead({})) === 1);
    expect((await store.listDead())[0]!.attempts).toBe(1);
  });

  it("dead-letters an event it cannot copy for a file action, and goes on with the next", async () => {
    // Stored before intake refused such nesting: structuredClone overflows the stack on it.
    const [deep, next] = factory.many(2) as [Auth0Event, Auth0Event];
    const text = JSON.stringify(deep).replace(/}$/, `,"deep":${"[".repeat(20_000)}${"]".repeat(20_000)}}`);
    const delivered: string[] = [];
    const { runner } = await runnerFor(
      { onExecuteEventStream: (event) => void delivered.push(event.message.id) },
      {},
      true,
    );
    const { keys } = await store.ingest(
      [deep, next].map((event, i) => ({
        event,
        payload: i === 0 ? text : JSON.stringify(event),
        deliveries: [{ action: "a", orderKey: null, held: true }],
      })),
      undefined,
    );
    runner.takeHeld(keys[0]!, JSON.parse(text) as Auth0Event, encodedEvent(text), Date.now());
    runner.takeHeld(keys[1]!, next, encodedEvent(JSON.stringify(next)), Date.now());
    await waitFor(async () => (await store.countDead({})) === 1 && delivered.length === 1);
    expect(delivered).toEqual([next.id]);
    const [dead] = await store.listDead();
    expect(dead).toMatchObject({ eventId: deep.id, attempts: 1 });
    expect(dead!.lastError).toMatch(/^the event could not be copied for the action: RangeError/);
  });

  it("runs at most `concurrency` attempts at once", async () => {
    let running = 0;
    let most = 0;
    let done = 0;
    const { hold } = await runnerFor(
      {
        async onExecuteEventStream() {
          running++;
          most = Math.max(most, running);
          await new Promise((resolve) => setImmediate(resolve));
          running--;
          done++;
        },
      },
      { concurrency: 3 },
    );
    await hold(factory.many(20));
    await waitFor(() => done === 20);
    expect(most).toBe(3);
  });

  it("pauses itself after pauseAfterFailures consecutive failures; its waiting deliveries go back to the store", async () => {
    let calls = 0;
    const { runner, hold } = await runnerFor(
      {
        async onExecuteEventStream() {
          calls++;
          await new Promise((resolve) => setImmediate(resolve));
          throw new Error("503");
        },
      },
      { concurrency: 2, pauseAfterFailures: 4, retry: { maxAttempts: 100, initialDelayMs: 60_000 } },
    );
    const reasons: string[] = [];
    runner.onAutoPause = (reason) => reasons.push(reason);
    await hold(factory.many(10));
    await waitFor(() => reasons.length === 1);
    expect(runner.isPaused).toBe(true);
    expect(reasons[0]).toMatch(/^4 consecutive failed attempts; the last: Error: 503/);
    // The attempts in flight finished; the rest never started and wait in the store, none lost.
    expect(calls).toBeLessThanOrEqual(5);
    await waitFor(async () => (await store.countUnfinished()) === 10);
    expect(runner.freeSlots()).toBe(0);
  });

  it("reconfigure: attempts in flight finish on the old instance, new ones run on the new; resolves when the old is idle", async () => {
    const ran: Array<[string, string]> = [];
    let releaseOld!: () => void;
    const oldBlocked = new Promise<void>((resolve) => {
      releaseOld = resolve;
    });
    const { runner, hold } = await runnerFor(
      {
        onExecuteEventStream: async (event) => {
          ran.push(["old", event.message.id]);
          await oldBlocked;
        },
      },
      { concurrency: 2 },
    );
    const events = factory.many(4);
    await hold(events);
    await waitFor(() => ran.length === 2);
    let drained = false;
    const reconfigured = runner
      .reconfigure(
        {
          onExecuteEventStream: async (event) => {
            ran.push(["new", event.message.id]);
          },
        },
        actionSchema.parse({ name: "a", plugin: "console", events: ["*"], concurrency: 4 }),
        false,
      )
      .then(() => {
        drained = true;
      });
    // The two waiting deliveries start on the new instance, beside the two still running on the old one.
    await waitFor(() => ran.filter(([on]) => on === "new").length === 2);
    expect(drained).toBe(false);
    releaseOld();
    await reconfigured;
    expect(ran).toEqual([
      ["old", events[0]!.id],
      ["old", events[1]!.id],
      ["new", events[2]!.id],
      ["new", events[3]!.id],
    ]);
    expect(runner.capacity).toBe(4 * 2 + 128);
  });
});
