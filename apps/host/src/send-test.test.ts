import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { events } from "@switchyard/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { finishConfig } from "./config/load.js";
import type { SwitchyardConfigInput } from "./config/schema.js";
import { ActionMatcher } from "./engine/matching.js";
import { sendTestEvent } from "./send-test.js";
import { openStore } from "./store/open.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "switchyard-send-test-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const load = (actions: SwitchyardConfigInput["actions"]) =>
  finishConfig(
    { source: { auth0: { domain: "http://127.0.0.1:1", token: "t0k3n-value" } }, state: dir, actions },
    join(dir, "switchyard.yaml"),
    {},
  );

describe("filters where events are routed", () => {
  it("ActionMatcher accepts only what the filter selects, after patterns and test events", () => {
    const { config } = load([
      {
        name: "acme",
        plugin: "console",
        events: ["user.*"],
        filter: { "data.object.email": { endsWith: "@acme.com" } },
        testEvents: false,
      },
    ]);
    const matcher = new ActionMatcher(config.actions[0]!);
    const acme = events.userCreated({ email: "ada@acme.com" });
    const other = events.userCreated({ email: "bob@globex.com" });
    expect(matcher.accepts(acme)).toBe(true);
    expect(matcher.accepts(other)).toBe(false);
    expect(matcher.filteredOut(other)).toBe(
      'data.object.email is "bob@globex.com", expected to end with "@acme.com"',
    );
    expect(matcher.filteredOut(acme)).toBeUndefined();
    // Not the filter's doing: another type, or a test event this action does not take.
    expect(matcher.filteredOut(events.organizationCreated())).toBeUndefined();
    expect(matcher.accepts(events.userCreated({ email: "ada@acme.com" }, { a0purpose: "test" }))).toBe(false);
  });

  it("send-test writes no delivery for an action whose filter rejects the event, and says why", async () => {
    const loaded = load([
      { name: "everyone", plugin: "console", events: ["*"] },
      {
        name: "acme-only",
        plugin: "console",
        events: ["user.*"],
        filter: { "data.object.email": { endsWith: "@acme.invalid" } },
      },
      { name: "orgs", plugin: "console", events: ["organization.*"] },
    ]);
    const result = await sendTestEvent(loaded, "user.created");
    expect(result.actions).toEqual(["everyone"]);
    expect(result.filtered).toEqual([
      {
        action: "acme-only",
        index: 1,
        reason: expect.stringMatching(/^data\.object\.email is ".*", expected to end with "@acme\.invalid"$/),
      },
    ]);
    const store = await openStore(loaded);
    try {
      const stats = await store.stats();
      expect(stats.pending).toEqual({ everyone: 1 });
    } finally {
      await store.close();
    }
  });
});
