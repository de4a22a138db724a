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
});
