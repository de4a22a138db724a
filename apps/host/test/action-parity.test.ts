import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createEventFactory, startFakeTenant, waitFor } from "@switchyard/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { finishConfig } from "../src/config/load.js";
import type { SwitchyardConfigInput } from "../src/config/schema.js";
import { type Host, startHost } from "../src/host.js";
import { startCli, tenantEnv } from "./cli.js";
import { lineSink } from "./log-lines.js";
import { memorySource } from "./memory-source.js";

// Auth0 Event Stream Action code, run as file actions: `api.message.fail`, and the console.

let dir: string;
let hosts: Host[] = [];
let logs: Array<Record<string, unknown>> = [];
const factory = createEventFactory({ seed: 23 });

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "switchyard-parity-"));
  logs = [];
});
afterEach(async () => {
  await Promise.all(hosts.map((h) => h.stop()));
  hosts = [];
  rmSync(dir, { recursive: true, force: true });
});

/** Write an Auth0 action file (CommonJS, as Auth0's editor has it) into the test's folder. */
function actionFile(name: string, body: string): string {
  const file = join(dir, name);
  writeFileSync(file, body);
  return file;
}

async function start(actions: SwitchyardConfigInput["actions"]) {
  const loaded = finishConfig(
    {
      source: { auth0: { domain: "unused.example", token: "t0ken-secret" } },
      state: join(dir, "state"),
      server: { port: 0 },
      log: { level: "debug" },
      actions,
    },
    join(dir, "switchyard.yaml"),
    {},
  );
  const sink = lineSink((line) => logs.push(JSON.parse(line)));
  const source = memorySource();
  const host = await startHost(loaded, { source, logDestination: sink });
  hosts.push(host);
  return { host, source };
}

describe("api.message.fail in a file action", () => {
  it("fails the attempt with its reason and retries it, as at Auth0", async () => {
    const plugin = actionFile(
      "fail-once.js",
      `const seen = new Set();
exports.onExecuteEventStream = async (event, api) => {
  try {
    if (!seen.has(event.message.id)) {
      seen.add(event.message.id);
      throw new Error("SCIM server answered 503");
    }
  } catch (err) {
    api.message.fail("could not provision: " + err.message);
    return;
  }
};
`,
    );
    const { source } = await start([
      {
        name: "scim",
        plugin,
        events: ["*"],
        retry: { maxAttempts: 3, initialDelayMs: 10, maxDelayMs: 20 },
      },
    ]);
    const [event] = factory.many(1);
    source.push(event!);
    const retried = await waitFor(() =>
      logs.find((l) => l.msg === "delivery failed, will retry" && l.eventId === event!.id),
    );
    expect(retried).toMatchObject({ action: "scim", error: "could not provision: SCIM server answered 503" });
    // The second attempt returns without calling fail: delivered, not dead-lettered.
    await waitFor(async () => {
      const body = await (await fetch(`http://127.0.0.1:${hosts[0]!.port}/metrics`)).text();
      return /switchyard_deliveries_total\{action="scim",outcome="delivered"\} 1/.test(body);
    });
    expect(logs.some((l) => l.msg === "delivery dead-lettered")).toBe(false);
  });
});

describe("console inside a file action", () => {
  it("goes to the host's log as the action's lines, at the matching level, never mixed between attempts", async () => {
    const plugin = actionFile(
      "chatty.js",
      `exports.onExecuteEventStream = async (event, api) => {
  const id = event.message.id;
  console.log("start %s", id);
  await new Promise((resolve) => setTimeout(resolve, (id.charCodeAt(id.length - 1) % 7) * 3));
  console.info("info", id);
  setImmediate(() => console.debug("later", id));
  await new Promise((resolve) => setTimeout(resolve, 1));
  console.warn("warn", id);
  console.error("error", id);
};
`,
    );
    const { source } = await start([{ name: "chatty", plugin, events: ["*"], concurrency: 8 }]);
    const events = factory.many(24);
    source.push(...events);
    const lines = () => logs.filter((l) => l.action === "chatty" && typeof l.eventId === "string");
    await waitFor(() => lines().length === events.length * 5);
    for (const event of events) {
      const own = lines().filter((l) => String(l.msg).endsWith(event.id));
      // The line from setImmediate may come before or after the last two: compare them as a set.
      expect(own.map((l) => `${l.level} ${String(l.msg).split(" ")[0]}`).sort()).toEqual([
        "debug later",
        "error error",
        "info info",
        "info start",
        "warn warn",
      ]);
      // Each line carries its own attempt's event id, whichever attempts ran beside it.
      expect(own.every((l) => l.eventId === event.id && l.attempt === 1)).toBe(true);
    }
  });
});

describe("the lines kept with an attempt", () => {
  it("are its console lines, redacted, at most 50 of at most 2 KB each, on the admin API's event page", async () => {
    const plugin = actionFile(
      "verbose.js",
      `exports.onExecuteEventStream = async (event) => {
  console.warn("token " + event.secrets.TOKEN + " " + "x".repeat(5000));
  for (let i = 1; i < 60; i++) console.log("line", i);
};
`,
    );
    const { source, host } = await start([
      { name: "verbose", plugin, events: ["*"], secrets: { TOKEN: "tok_6a1f0c9e77" } },
    ]);
    const [event] = factory.many(1);
    source.push(event!);
    type Page = { attempts: Array<{ logs?: Array<{ level: string; message: string; at: string }> }> };
    const page = await waitFor(async () => {
      const answer = await fetch(`http://127.0.0.1:${host.port}/api/events/${event!.id}`);
      const body = (await answer.json()) as Page;
      return body.attempts[0]?.logs ? body : undefined;
    });
    const logs = page.attempts[0]!.logs!;
    expect(logs).toHaveLength(50);
    expect(logs[0]!.level).toBe("warn");
    expect(logs[0]!.message.startsWith("token [redacted] xxx")).toBe(true);
    expect(logs[0]!.message).toHaveLength(2048);
    expect(logs[1]).toMatchObject({ level: "info", message: "line 1" });
    expect(logs[49]!.message).toBe("line 49 (and 10 more lines in the host's log)");
    expect(Number.isNaN(Date.parse(logs[49]!.at))).toBe(false);
    // The host's log has every line.
    expect(logs.length).toBeLessThan(logsOf("verbose").length);
    expect(logsOf("verbose")).toHaveLength(60);
  });
});

const logsOf = (action: string) => logs.filter((l) => l.action === action && l.eventId !== undefined);

describe("console inside a file action (real process)", () => {
  it("never prints an action's secret on stdout or stderr: its lines are redacted", async () => {
    const SECRET = "scim-bearer-3f9a7c21e4";
    const plugin = actionFile(
      "leaky.js",
      `exports.onExecuteEventStream = async (event, api) => {
  console.log("calling SCIM with", event.secrets.SCIM_TOKEN);
  console.error({ token: event.secrets.SCIM_TOKEN, id: event.message.id });
  console.dir(event.secrets);
};
`,
    );
    const tenant = await startFakeTenant();
    try {
      const events = factory.many(3);
      tenant.append(events);
      const config = join(dir, "switchyard.yaml");
      writeFileSync(
        config,
        [
          "source:",
          "  auth0: { domain: '${AUTH0_DOMAIN}', clientId: '${AUTH0_CLIENT_ID}', clientSecret: '${AUTH0_CLIENT_SECRET}', fromTimestamp: '2000-01-01T00:00:00Z' }",
          "state: ./state",
          "server: { port: 0 }",
          "actions:",
          `  - { name: leaky, plugin: ${JSON.stringify(plugin)}, events: ['*'], secrets: { SCIM_TOKEN: '\${SCIM_TOKEN}' } }`,
          "",
        ].join("\n"),
      );
      const cli = startCli(["start", "--config", config], {
        ...tenantEnv(tenant),
        SCIM_TOKEN: SECRET,
      });
      try {
        await waitFor(
          () =>
            cli
              .logs()
              .filter((l) => l.action === "leaky" && l.level === "info" && String(l.msg).includes("{"))
              .length === events.length,
          {
            timeoutMs: 40_000,
            message: `console.dir lines; output: ${[...cli.stdout, ...cli.stderr].join("\n")}`,
          },
        );
        const printed = [...cli.stdout, ...cli.stderr].join("\n");
        expect(printed).not.toContain(SECRET);
        const calling = cli.logs().filter((l) => String(l.msg).startsWith("calling SCIM"));
        expect(calling).toHaveLength(events.length);
        expect(calling[0]).toMatchObject({ action: "leaky", msg: "calling SCIM with [redacted]" });
        expect(new Set(calling.map((l) => l.eventId))).toEqual(new Set(events.map((e) => e.id)));
        expect(cli.logs().filter((l) => l.level === "error" && l.action === "leaky")).toHaveLength(
          events.length,
        );
      } finally {
        cli.child.kill("SIGKILL");
        await cli.exited;
      }
    } finally {
      await tenant.close();
    }
  }, 60_000);
});
