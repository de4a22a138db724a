import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { requestReload, takeReloadRequest } from "./reload-request.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "switchyard-reload-request-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("the operator of a reload, left in the state folder", () => {
  it("is taken once, within a minute", () => {
    requestReload(dir, "cli:ann@box", 1_000);
    expect(takeReloadRequest(dir, 2_000)).toBe("cli:ann@box");
    expect(existsSync(join(dir, "reload-request.json"))).toBe(false);
    expect(takeReloadRequest(dir, 2_000)).toBeUndefined();
  });

  it("is not taken when stale or unreadable, and is removed either way", () => {
    requestReload(dir, "cli:ann@box", 1_000);
    expect(takeReloadRequest(dir, 1_000 + 61_000)).toBeUndefined();
    expect(existsSync(join(dir, "reload-request.json"))).toBe(false);
    writeFileSync(join(dir, "reload-request.json"), "not json");
    expect(takeReloadRequest(dir)).toBeUndefined();
    expect(existsSync(join(dir, "reload-request.json"))).toBe(false);
  });
});
