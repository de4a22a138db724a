import { describe, expect, it } from "vitest";
import { createBatcher } from "./batcher.js";

function recording(answer: (items: number[]) => Array<string | Error> = (items) => items.map(String)) {
  const batches: number[][] = [];
  const batcher = createBatcher<number, string>({
    maxItems: 3,
    maxBytes: 100,
    sizeOf: (item) => item,
    async send(items) {
      batches.push(items);
      return answer(items);
    },
  });
  return { batches, batcher };
}

describe("createBatcher", () => {
  it("coalesces calls of one turn into batches of at most maxItems, in order", async () => {
    const { batches, batcher } = recording();
    const results = await Promise.all([1, 2, 3, 4, 5].map((n) => batcher.add(n)));
    expect(results).toEqual(["1", "2", "3", "4", "5"]);
    expect(batches).toEqual([
      [1, 2, 3],
      [4, 5],
    ]);
  });

  it("sends a lone call at the end of the turn", async () => {
    const { batches, batcher } = recording();
    expect(await batcher.add(7)).toBe("7");
    expect(batches).toEqual([[7]]);
  });

  it("keeps a batch within maxBytes", async () => {
    const { batches, batcher } = recording();
    await Promise.all([60, 30, 20, 90].map((n) => batcher.add(n)));
    expect(batches).toEqual([[60, 30], [20], [90]]);
  });

  it("fails an item alone when its settlement is an Error", async () => {
    const { batcher } = recording((items) => items.map((n) => (n === 2 ? new Error("no 2") : String(n))));
    const results = await Promise.allSettled([1, 2, 3].map((n) => batcher.add(n)));
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect((results[1] as PromiseRejectedResult).reason.message).toBe("no 2");
  });

  it("fails every item of a batch whose send throws", async () => {
    const batcher = createBatcher<number, void>({
      maxItems: 10,
      send: async () => {
        throw new Error("down");
      },
    });
    const results = await Promise.allSettled([1, 2].map((n) => batcher.add(n)));
    expect(results.every((r) => r.status === "rejected" && r.reason.message === "down")).toBe(true);
  });

  it("never sends an item whose signal aborted while it waited", async () => {
    const { batches, batcher } = recording();
    const controller = new AbortController();
    const first = batcher.add(1, controller.signal, () => new Error("aborted"));
    const second = batcher.add(2);
    controller.abort();
    await expect(first).rejects.toThrow("aborted");
    expect(await second).toBe("2");
    expect(batches).toEqual([[2]]);
    expect(batcher.queued).toBe(0);
  });

  it("holds items while maxInFlight batches are out, then sends them together", async () => {
    const batches: number[][] = [];
    const answers: Array<() => void> = [];
    const batcher = createBatcher<number, void>({
      maxItems: 10,
      maxInFlight: 1,
      send(items) {
        batches.push(items);
        return new Promise((resolve) => answers.push(() => resolve(items.map(() => undefined))));
      },
    });
    const first = batcher.add(1);
    await new Promise((resolve) => setImmediate(resolve));
    const rest = [2, 3, 4].map((n) => batcher.add(n));
    await new Promise((resolve) => setImmediate(resolve));
    expect(batches).toEqual([[1]]);
    expect(batcher.queued).toBe(3);
    answers.shift()?.();
    await first;
    await new Promise((resolve) => setImmediate(resolve));
    expect(batches).toEqual([[1], [2, 3, 4]]);
    answers.shift()?.();
    await Promise.all(rest);
  });
});
