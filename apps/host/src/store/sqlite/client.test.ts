import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createEventFactory, waitFor } from "@switchyard/testing";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { StateStore } from "../types.js";
import { openStoreThread } from "./client.js";

const factory = createEventFactory({ seed: 8 });
let dir: string;
const opened: StateStore[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "switchyard-thread-"));
});
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function open(onFailure?: (error: Error) => void) {
  const store = await openStoreThread(join(dir, "switchyard.db"), {}, onFailure);
  opened.push(store);
  return store;
}

describe("the store on its own thread", () => {
  it("answers in the order asked: a claim sees the completions sent before it", async () => {
    const store = await open();
    const events = factory.many(3);
    const ingested = store.ingest(
      events.map((event) => ({
        event,
        payload: JSON.stringify(event),
        deliveries: [{ action: "a", orderKey: null, held: false }],
      })),
      "cursor-1",
    );
    // Not awaited in between: the thread must take them in order.
    const claimed = store.claim("a", 10, Date.now() + 60_000, false);
    const { keys } = await ingested;
    expect(keys).toHaveLength(3);
    const rows = await claimed;
    expect(rows.map((row) => JSON.parse(row.payload).id)).toEqual(events.map((e) => e.id));
    const done = store.complete(
      keys.map((key) => ({ key: key!, action: "a", result: "delivered" as const })),
    );
    const left = store.countUnfinished();
    await done;
    expect(await left).toBe(0);
    expect(await store.getCursor()).toBe("cursor-1");
    // Each tenant's cursor is its own, through the thread too.
    await store.ingest([], "dev-cursor-1", "dev");
    expect(await store.getCursor("dev")).toBe("dev-cursor-1");
    expect(await store.getCursor()).toBe("cursor-1");
  });

  it("checkpoints the WAL between requests, long before SQLite's own limit", async () => {
    const store = await open();
    const events = factory.many(20);
    await store.ingest(
      events.map((event) => ({
        event,
        payload: JSON.stringify(event),
        deliveries: [{ action: "a", orderKey: null, held: false }],
      })),
      "cursor-1",
    );
    // A copy of the database file without its WAL holds the events only once a checkpoint copied them
    // there: a few pages, far below wal_autocheckpoint, so the thread's own checkpoint did.
    const copy = join(dir, "copy.db");
    const inFile = () => {
      copyFileSync(join(dir, "switchyard.db"), copy);
      const db = new Database(copy, { readonly: true });
      try {
        return db.prepare<[], { n: number }>("SELECT count(*) AS n FROM events").get()?.n ?? 0;
      } catch {
        return 0; // before the first checkpoint, the file may not hold even the tables
      } finally {
        db.close();
      }
    };
    await waitFor(() => inFile() === events.length);
  });

  it("keeps an action's cache across threads", async () => {
    const store = await open();
    await store.saveCache("a", "k", { value: "v", expires_at: Date.now() + 60_000 });
    await store.close();
    const again = await open();
    expect((await again.loadCache("a")).map(([key, record]) => [key, record.value])).toEqual([["k", "v"]]);
  });

  it("rejects a failed operation with SQLite's error and code, and keeps answering", async () => {
    const store = await open();
    const [event] = factory.many(1);
    const broken = { ...event!, id: null as unknown as string };
    const error = await store.ingest([{ event: broken, payload: "{}", deliveries: [] }], "c").then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ name: "SqliteError", code: "SQLITE_CONSTRAINT_NOTNULL" });
    expect((error as Error).message).toMatch(/NOT NULL/);
    // Nothing of the failed transaction stayed, and the thread still answers.
    expect(await store.getCursor()).toBeUndefined();
    expect(await store.countUnfinished()).toBe(0);
  });

  it("fails to open with the reason when the state file cannot be made", async () => {
    const file = join(dir, "a-file");
    writeFileSync(file, "");
    await expect(openStoreThread(join(file, "sub", "switchyard.db"), {})).rejects.toThrow(/ENOTDIR/);
  });

  it("refuses work once closed, without reporting a failure", async () => {
    const failures: Error[] = [];
    const store = await open((error) => failures.push(error));
    await store.close();
    await expect(store.countUnfinished()).rejects.toThrow(/closed/);
    expect(failures).toEqual([]);
  });
});
