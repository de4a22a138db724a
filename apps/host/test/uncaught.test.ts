import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createEventFactory, startFakeTenant, waitFor } from "@switchyard/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCli, tenantEnv } from "./cli.js";

// Plugin code that throws where no attempt awaits it (a timer, an emitter, a forgotten promise) never stops
// the host: a real process, since the point is that it does not exit.

let dir: string;
const write = (name: string, text: string) => {
  const file = join(dir, name);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  return file;
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "switchyard-uncaught-"));
  write(
    "actions/careless.js",
    `const { EventEmitter } = require("node:events");
exports.onExecuteEventStream = async (event) => {
  const id = event.message.id;
  setTimeout(() => { throw new Error("late boom " + id); }, 1);
  Promise.reject(new Error("forgotten " + id));
  setImmediate(() => new EventEmitter().emit("error", new Error("no listener " + id)));
  console.log("handled", id);
};
`,
  );
  // A plugin package whose factory leaves a timer that throws, outside any attempt: found by its stack.
  write("node_modules/flaky-crm/package.json", JSON.stringify({ name: "flaky-crm", main: "index.js" }));
  write(
    "node_modules/flaky-crm/index.js",
    `module.exports = function crm() {
  setTimeout(function refreshToken() { throw new Error("token refresh failed"); }, 50);
  return { onExecuteEventStream() {} };
};
`,
  );
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("an uncaught error from plugin code", () => {
  it("is attributed to its action, logged and counted, and the host keeps delivering", async () => {
    const tenant = await startFakeTenant();
    const factory = createEventFactory({ seed: 41 });
    const first = factory.many(3);
    tenant.append(first);
    const config = write(
      "switchyard.yaml",
      [
        "source:",
        "  auth0: { domain: '${AUTH0_DOMAIN}', clientId: '${AUTH0_CLIENT_ID}', clientSecret: '${AUTH0_CLIENT_SECRET}', fromTimestamp: '2000-01-01T00:00:00Z' }",
        "state: ./state",
        "server: { port: 0 }",
        "actions:",
        "  - { name: careless, plugin: ./actions/careless.js, events: ['*'] }",
        "  - { name: crm, plugin: flaky-crm, events: ['*'] }",
        "",
      ].join("\n"),
    );
    const cli = startCli(
      ["start", "--config", config],
      {
        ...tenantEnv(tenant),
      },
      dir,
    );
    try {
      const started = await cli.waitForLog("switchyard started", 40_000);
      const uncaught = (action: string, kind: string) =>
        cli.logs().filter((l) => l.action === action && l.kind === kind && /uncaught/.test(String(l.msg)));
      await waitFor(() => uncaught("careless", "exception").length === first.length * 2, {
        message: `uncaught exceptions; output: ${[...cli.stdout, ...cli.stderr].join("\n")}`,
      });
      await waitFor(() => uncaught("careless", "rejection").length === first.length);
      await waitFor(() => uncaught("crm", "exception").length === 1);
      expect(uncaught("crm", "exception")[0]).toMatchObject({
        msg: "an uncaught exception from the action's code; the host keeps running",
        err: { message: "Error: token refresh failed" },
      });
      // Thrown from callbacks an attempt started: that attempt's event.
      const ids = new Set(first.map((e) => e.id));
      expect(uncaught("careless", "exception").every((l) => ids.has(String(l.eventId)))).toBe(true);

      // Still running, and still delivering.
      expect(cli.child.exitCode).toBeNull();
      const later = factory.many(2);
      tenant.append(later);
      await waitFor(() =>
        later.every((e) => cli.logs().some((l) => l.action === "careless" && l.msg === `handled ${e.id}`)),
      );
      const metrics = await (await fetch(String(started.metrics))).text();
      expect(metrics).toContain(
        `switchyard_uncaught_errors_total{action="careless",kind="exception"} ${(first.length + later.length) * 2}`,
      );
      expect(metrics).toContain('switchyard_uncaught_errors_total{action="crm",kind="exception"} 1');
    } finally {
      cli.child.kill("SIGKILL");
      await cli.exited;
      await tenant.close();
    }
  }, 90_000);
});
