import { expect, it } from "vitest";
import { GroupCommit } from "./group-commit.js";

it("groups what arrives during a write into the next one, and settles each item with its write", async () => {
  const writes: number[][] = [];
  let fail = false;
  const commit = new GroupCommit<number, string>(async (items) => {
    writes.push(items);
    await new Promise((resolve) => setImmediate(resolve));
    if (fail) throw new Error("disk full");
    return `wrote ${items.length}`;
  }, 3);
  const first = commit.submit(1);
  const rest = [2, 3, 4, 5, 6].map((n) => commit.submit(n));
  expect(await first).toBe("wrote 1");
  expect(await Promise.all(rest)).toEqual(["wrote 3", "wrote 3", "wrote 3", "wrote 2", "wrote 2"]);
  expect(writes).toEqual([[1], [2, 3, 4], [5, 6]]);
  fail = true;
  await expect(commit.submit(7)).rejects.toThrow("disk full");
  fail = false;
  expect(await commit.submit(8)).toBe("wrote 1");
});
