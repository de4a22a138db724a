import type { StreamItem } from "@switchyard/auth0-events";
import { createEventFactory, waitFor } from "@switchyard/testing";
import { describe, expect, it } from "vitest";
import type { EventSource } from "../sources/auth0-stream.js";
import { Backlog } from "./backlog.js";
import type { Ingest } from "./ingest.js";
import { readStream } from "./reader.js";
import { type ActionRunner, READ_AHEAD } from "./runner.js";

/** A runner as the reader sees it: its room, whether it is ordered or paused, and its wake-up call. */
function fakeRunner(ordered: boolean, free: number) {
  return {
    ordered,
    isPaused: false,
    free,
    onSpace: undefined as (() => void) | undefined,
    freeSlots() {
      return this.free;
    },
  };
}

const factory = createEventFactory({ seed: 3 });
const batch = (n: number): StreamItem[] =>
  factory
    .many(n)
    .map((event, i) => ({ kind: "event", offset: String(i), event, json: JSON.stringify(event) }));

async function reading(runner: ReturnType<typeof fakeRunner>, readAhead?: () => boolean) {
  const batches = [batch(10), batch(10)];
  const written: number[] = [];
  const source: EventSource = {
    describe: "fake",
    async *batches() {
      yield* batches;
    },
  };
  const ingest = {
    write: async (piece: StreamItem[]) => void written.push(piece.length),
  } as unknown as Ingest;
  const controller = new AbortController();
  const done = readStream(
    {
      source,
      ingest,
      runners: [runner as unknown as ActionRunner],
      backlog: new Backlog(1_000_000),
      hooks: {},
      cursor: undefined,
      tenant: "default",
      onBacklogFull: () => {},
      ...(readAhead ? { readAhead } : {}),
    },
    controller.signal,
  );
  return { written, done, controller };
}

describe("stream reader", () => {
  // Every action is ordered by default: one whose room is taken must hold the stream back like any other
  // (reading on regardless sent three quarters of the deliveries through the store as rows).
  it.each([
    ["an ordered", true],
    ["an unordered", false],
  ])("waits for %s action's room before the next read", async (_, ordered) => {
    const runner = fakeRunner(ordered, READ_AHEAD - 1);
    const { written, done } = await reading(runner);
    await new Promise((resolve) => setImmediate(resolve));
    expect(written).toEqual([]);
    expect(runner.onSpace).toBeTypeOf("function");
    runner.free = READ_AHEAD;
    runner.onSpace!();
    await done;
    expect(written).toEqual([10, 10]);
  });

  // Shared state: with another replica alive, what this host cannot take goes to the store for the others.
  it("reads ahead while told to, and waits for room when not", async () => {
    const runner = fakeRunner(true, 0);
    let ahead = true;
    const { written, done } = await reading(runner, () => ahead);
    await waitFor(() => written.length === 2);
    await done;
    ahead = false;
    const alone = await reading(runner, () => ahead);
    await new Promise((resolve) => setImmediate(resolve));
    expect(alone.written).toEqual([]);
    runner.free = READ_AHEAD;
    runner.onSpace!();
    await alone.done;
    expect(alone.written).toEqual([10, 10]);
  });
});
