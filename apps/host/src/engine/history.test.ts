import { waitFor } from "@switchyard/testing";
import pino from "pino";
import { describe, expect, it } from "vitest";
import type { AttemptRecord } from "../store/types.js";
import { HistoryWriter } from "./history.js";

const record = (n: number): AttemptRecord => ({
  action: "a",
  eventId: `evt_${n}`,
  eventType: "user.created",
  attempt: 1,
  startedAt: n,
  durationMs: 1,
  outcome: "delivered",
  replica: "r1",
});

const silent = pino({ level: "silent" });

describe("HistoryWriter", () => {
  it("writes attempts in batches, in order, off the caller's path", async () => {
    const batches: AttemptRecord[][] = [];
    const writer = new HistoryWriter(
      { recordAttempts: async (records) => void batches.push([...records]) },
      silent,
    );
    for (let n = 0; n < 2_500; n++) writer.add(record(n));
    expect(batches).toHaveLength(0);
    await writer.flush();
    expect(batches.map((b) => b.length)).toEqual([1_000, 1_000, 500]);
    expect(batches.flat().map((r) => r.startedAt)).toEqual(Array.from({ length: 2_500 }, (_, n) => n));
  });

  it("flushes on its own within a moment", async () => {
    const written: AttemptRecord[] = [];
    const writer = new HistoryWriter(
      { recordAttempts: async (records) => void written.push(...records) },
      silent,
    );
    writer.add(record(1));
    await waitFor(() => written.length === 1);
  });

  it("drops and counts what the store refuses, and goes on", async () => {
    let fail = true;
    const written: AttemptRecord[] = [];
    const dropped: number[] = [];
    const writer = new HistoryWriter(
      {
        recordAttempts: async (records) => {
          if (fail) throw new Error("database is away");
          written.push(...records);
        },
      },
      silent,
      (count) => dropped.push(count),
    );
    writer.add(record(1));
    writer.add(record(2));
    await writer.flush();
    expect(dropped).toEqual([2]);
    fail = false;
    writer.add(record(3));
    await writer.flush();
    expect(written.map((r) => r.startedAt)).toEqual([3]);
  });

  it("bounds what waits while the store is slow", async () => {
    let open: () => void = () => {};
    const slow = new Promise<void>((resolve) => {
      open = resolve;
    });
    let dropped = 0;
    const writer = new HistoryWriter({ recordAttempts: () => slow }, silent, (count) => {
      dropped += count;
    });
    writer.add(record(0));
    const first = writer.flush();
    // The first record still waits too (the write starts on the next tick): 100,001 in all, one too many.
    for (let n = 1; n <= 100_000; n++) writer.add(record(n));
    expect(dropped).toBe(1);
    open();
    await first;
  });
});
