import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openStoreThread } from "./client.js";
import { openSqliteStore, SQLITE_SCHEMA_VERSION } from "./sqlite.js";

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "switchyard-version-"));
  file = join(dir, "switchyard.db");
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("sqlite schema version", () => {
  it("stamps a new store and reopens its own version", () => {
    openSqliteStore(file).close();
    const db = new Database(file);
    expect(db.pragma("user_version", { simple: true })).toBe(SQLITE_SCHEMA_VERSION);
    db.close();
    openSqliteStore(file).close();
  });

  it("refuses a store written by a newer switchyard, on this thread and on the store's", async () => {
    openSqliteStore(file).close();
    const db = new Database(file);
    db.pragma(`user_version = ${SQLITE_SCHEMA_VERSION + 1}`);
    db.close();
    const message = `the state in ${file} has schema version ${SQLITE_SCHEMA_VERSION + 1}; this switchyard knows up to ${SQLITE_SCHEMA_VERSION}: upgrade switchyard`;
    expect(() => openSqliteStore(file)).toThrow(message);
    await expect(openStoreThread(file, {})).rejects.toMatchObject({
      code: "SWITCHYARD_SCHEMA_TOO_NEW",
      message: expect.stringContaining(message),
    });
  });
  it("upgrades a version 1 store: it gains the delivery history and keeps its state", async () => {
    const v1 = openSqliteStore(file);
    await v1.ingest(
      [{ event: { id: "evt_1", type: "user.created", time: "t" }, payload: "{}", deliveries: [] }],
      "c-1",
    );
    v1.close();
    const db = new Database(file);
    db.exec("DROP TABLE attempts; DROP TABLE attempt_minutes");
    db.pragma("user_version = 1");
    db.close();
    const store = openSqliteStore(file);
    expect(store.getCursor()).toBe("c-1");
    store.recordAttempts([
      {
        action: "x",
        eventId: "evt_1",
        eventType: "user.created",
        attempt: 1,
        startedAt: 60_000,
        durationMs: 5,
        outcome: "delivered",
        replica: "r",
      },
    ]);
    expect(store.searchAttempts({ limit: 5 })).toHaveLength(1);
    store.close();
    const check = new Database(file);
    expect(check.pragma("user_version", { simple: true })).toBe(2);
    check.close();
  });
});
