import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createEventFactory, waitFor } from "@switchyard/testing";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it, onTestFinished } from "vitest";
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

  describe("when its files are deleted or replaced while it runs", () => {
    /** A store with `count` events of action `a` pending and the cursor `cursor-1`. */
    async function filled(failures: Error[], count: number) {
      const store = await open((error) => failures.push(error));
      await store.ingest(
        factory.many(count).map((event) => ({
          event,
          payload: JSON.stringify(event),
          deliveries: [{ action: "a", orderKey: null, held: false }],
        })),
        "cursor-1",
      );
      return store;
    }
    /** What the database file at `file` holds, read as a restarted host would. */
    function contents(file: string) {
      const db = new Database(file, { readonly: true });
      try {
        return {
          version: db.pragma("user_version", { simple: true }),
          pending: db.prepare<[], { n: number }>("SELECT count(*) AS n FROM deliveries").get()?.n,
          cursor: db.prepare<[], { value: string }>("SELECT value FROM meta WHERE key = 'cursor'").get()
            ?.value,
        };
      } finally {
        db.close();
      }
    }

    it("writes a deleted state back to its path, stops answering and says so", async () => {
      const failures: Error[] = [];
      const store = await filled(failures, 25);
      const before = contents(join(dir, "switchyard.db"));
      expect(before.pending).toBe(25);
      // The whole folder goes, as `rm -rf state/` does.
      rmSync(dir, { recursive: true, force: true });
      await waitFor(() => failures.length > 0);
      expect(failures[0]!.message).toBe(
        `the state database ${join(dir, "switchyard.db")} was deleted while the host ran; its contents were written back there. The host stops: start it again to go on`,
      );
      expect(contents(join(dir, "switchyard.db"))).toEqual(before);
      // Nothing more is acknowledged into the lost file.
      await expect(store.countUnfinished()).rejects.toThrow(/was deleted while the host ran/);
      expect(readdirSync(dir)).toEqual(["switchyard.db"]);
    });

    it("writes a deleted state back when it is closed before its next check (a host stopped at once)", async () => {
      const failures: Error[] = [];
      const store = await filled(failures, 12);
      const file = join(dir, "switchyard.db");
      const before = contents(file);
      rmSync(dir, { recursive: true, force: true });
      await store.close();
      expect(contents(file)).toEqual(before);
    });

    it("leaves a file put in its place alone and keeps its own state beside it", async () => {
      const failures: Error[] = [];
      await filled(failures, 10);
      const file = join(dir, "switchyard.db");
      const before = contents(file);
      // Another state folder moved into its place (a volume swapped while the host ran).
      mkdirSync(`${dir}-other`);
      const other = new Database(join(`${dir}-other`, "switchyard.db"));
      other.exec("CREATE TABLE other (x)");
      other.close();
      renameSync(dir, `${dir}-moved`);
      renameSync(`${dir}-other`, dir);
      onTestFinished(() => rmSync(`${dir}-moved`, { recursive: true, force: true }));
      await waitFor(() => failures.length > 0);
      const copy = readdirSync(dir).find((name) => name.startsWith("switchyard.db.orphaned-"));
      expect(copy).toBeDefined();
      expect(failures[0]!.message).toBe(
        `the state database ${file} was replaced by another file while the host ran; this host's state was saved to ${join(dir, copy!)} and ${file} is left as it is. The host stops: find out which state is right, then put it at ${file}`,
      );
      expect(contents(join(dir, copy!))).toEqual(before);
      const left = new Database(file, { readonly: true });
      expect(left.prepare("SELECT name FROM sqlite_master").all()).toEqual([{ name: "other" }]);
      left.close();
    });

    it("writes what its deleted write-ahead log held into the database, and stops", async () => {
      const failures: Error[] = [];
      const store = await filled(failures, 15);
      const file = join(dir, "switchyard.db");
      rmSync(`${file}-wal`);
      // Acknowledged after the deletion, before the check (once a second): kept too. Refused if the check
      // came first, within the millisecond since the deletion.
      const late = factory.many(5).map((event) => ({
        event,
        payload: JSON.stringify(event),
        deliveries: [{ action: "a", orderKey: null, held: false }],
      }));
      const acked = await store.ingest(late, "cursor-2").then(
        () => true,
        () => false,
      );
      await waitFor(() => failures.length > 0);
      expect(failures[0]!.message).toBe(
        `the state database's write-ahead log ${file}-wal was deleted while the host ran; what it held was written into ${file}. The host stops: start it again to go on`,
      );
      await store.close();
      // The database file alone (its log gone) holds every event and the cursor.
      expect(existsSync(`${file}-wal`)).toBe(false);
      expect(contents(file)).toMatchObject(
        acked ? { pending: 20, cursor: "cursor-2" } : { pending: 15, cursor: "cursor-1" },
      );
      expect(readdirSync(dir).filter((name) => name.includes("orphaned"))).toEqual([]);
    });

    it("goes on while its files stay where they are", async () => {
      const failures: Error[] = [];
      const store = await filled(failures, 5);
      // Longer than a check (once a second), with writes and checkpoints in between.
      const until = Date.now() + 2_500;
      while (Date.now() < until) {
        await store.touch(Date.now());
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(failures).toEqual([]);
      expect(existsSync(join(dir, "switchyard.db"))).toBe(true);
      expect(await store.countUnfinished()).toBe(5);
    });
  });
});
