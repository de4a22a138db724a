import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type FakeServer, startFakeServer } from "@switchyard/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../test/cli.js";
import { formatReport, loadEvent, parseSecrets, runActionOnce } from "./run-action.js";

const REPO = fileURLToPath(new URL("../../../../", import.meta.url));
const NOTIFY = fileURLToPath(new URL("../../test/fixtures/issue-config/actions/notify.js", import.meta.url));
const FORWARD = join(REPO, "examples/auth0-action/actions/forward.js");
const SECRET = "s3cr3t-token-value";

let dir: string;
let server: FakeServer;

const ACTIONS: Record<string, string> = {
  "ok.js": `exports.onExecuteEventStream = async (event, api) => {
  api.log.info("got " + event.message.type, { email: event.message.data.object.email, token: event.secrets.TOKEN });
  console.log("attempt %d, secret %s", api.attempt, event.secrets.TOKEN);
};`,
  "throw.js": `exports.onExecuteEventStream = async (event) => {
  throw new Error("boom: the CRM refused " + event.secrets.TOKEN);
};`,
  "permanent.js": `exports.onExecuteEventStream = async () => {
  throw Object.assign(new Error("bad payload"), { code: "PERMANENT" });
};`,
  // Ignores api.signal and holds a timer: the command must still stop at the deadline and exit.
  "hang.js": `exports.onExecuteEventStream = () => new Promise(() => { setInterval(() => {}, 1000); });`,
  "typed.ts": `interface Api { log: { info(message: string, fields?: Record<string, unknown>): void } }
export async function onExecuteEventStream(event: { message: { type: string; id: string } }, api: Api): Promise<void> {
  const id: string = event.message.id;
  api.log.info("typed", { id });
}`,
  "not-a-plugin.js": "exports.hello = () => 1;",
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "switchyard-run-action-"));
  for (const [file, text] of Object.entries(ACTIONS)) writeFileSync(join(dir, file), text);
  writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "commonjs" }));
  server = await startFakeServer();
});

afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** `switchyard run-action <args>` from the repo root, as a real child process. */
const run = (args: string[], env: NodeJS.ProcessEnv = {}) => runCli(["run-action", ...args], env, REPO);
/** Each test spawns a CLI (~1.5 s to start from sources, more on a loaded machine). */
const SPAWN_TIMEOUT = 20_000;

describe("switchyard run-action (the real CLI)", () => {
  it.concurrent(
    "prints a succeeding action's outcome, logs and console output, secrets redacted; exit 0",
    async () => {
      const result = await run([
        join(dir, "ok.js"),
        "--event",
        "user.created",
        "--secret",
        `TOKEN=${SECRET}`,
      ]);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toMatch(/^outcome: +delivered in \d+ ms$/m);
      expect(result.stdout).toMatch(/^event: +user\.created evt_\w{22} \(generated\)$/m);
      expect(result.stdout).toMatch(
        /info +got user\.created \{"email":"[^"]+@example\.com","token":"\[redacted\]"\}/,
      );
      expect(result.stdout).toMatch(/console:\n +info +attempt 1, secret \[redacted\]/);
      expect(result.stdout + result.stderr).not.toContain(SECRET);
    },
    SPAWN_TIMEOUT,
  );

  it.concurrent(
    "prints a throwing action's error and where it threw; exit 1",
    async () => {
      const result = await run([join(dir, "throw.js"), "--secret", `TOKEN=${SECRET}`]);
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(/^outcome: +retryable in \d+ ms \(the host would retry it/m);
      expect(result.stdout).toMatch(/^error: +Error: boom: the CRM refused \[redacted\]$/m);
      expect(result.stdout).toContain(`at exports.onExecuteEventStream (${join(dir, "throw.js")}:2:9)`);
      expect(result.stdout).not.toContain(SECRET);
    },
    SPAWN_TIMEOUT,
  );

  it.concurrent(
    "stops a hanging action at its time budget and exits, as JSON",
    async () => {
      // Without the explicit exit, the action's timer would keep the process (and this test) alive.
      const result = await run([join(dir, "hang.js"), "--timeout", "300", "--json"]);
      expect(result.code).toBe(1);
      const report = JSON.parse(result.stdout) as Record<string, unknown>;
      expect(report).toMatchObject({
        status: "retryable",
        message: "TimeoutError: action did not finish within its 300 ms time budget",
        event: { type: "user.created", source: "generated" },
        logs: [],
        console: [],
      });
      expect(report.durationMs).toBeGreaterThanOrEqual(295);
      expect(report.durationMs).toBeLessThan(2_000);
    },
    SPAWN_TIMEOUT,
  );

  it.concurrent(
    "runs Auth0's notify.js against a local server (NOTIFY_URL, --secret API_KEY)",
    async () => {
      const result = await run([NOTIFY, "--event", "user.deleted", "--secret", "API_KEY=key-for-notify"], {
        NOTIFY_URL: `${server.url}/notify`,
      });
      expect(result.code, result.stdout + result.stderr).toBe(0);
      expect(result.stdout).toMatch(/^outcome: +delivered/m);
      const [request] = await server.waitForRequests(1, (r) => r.path === "/notify");
      expect(request?.headers["x-api-key"]).toBe("key-for-notify");
      expect(request?.json).toMatchObject({ type: "user.deleted", specversion: "1.0" });
    },
    SPAWN_TIMEOUT,
  );

  it.concurrent(
    "runs Auth0's own example action unchanged, secrets URL and API_KEY from --secret",
    async () => {
      const result = await run([
        FORWARD,
        "--event",
        "organization.member.added",
        "--secret",
        `URL=${server.url}/forward`,
        "--secret",
        "API_KEY=key-for-forward",
      ]);
      expect(result.code, result.stdout + result.stderr).toBe(0);
      const [request] = await server.waitForRequests(1, (r) => r.path === "/forward");
      expect(request?.headers["x-api-key"]).toBe("key-for-forward");
      expect(request?.json).toMatchObject({ type: "organization.member.added" });
    },
    SPAWN_TIMEOUT,
  );

  it.concurrent(
    "runs a TypeScript action file",
    async () => {
      const result = await run([join(dir, "typed.ts"), "--event", "group.created"]);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toMatch(/info +typed \{"id":"evt_\w{22}"\}/);
    },
    SPAWN_TIMEOUT,
  );

  it.concurrent(
    "fails clearly (exit 2) on an invalid event file, naming the field",
    async () => {
      const file = join(dir, "bad-event.json");
      writeFileSync(file, JSON.stringify({ specversion: "1.0", type: "user.created", source: "x" }));
      const result = await run([join(dir, "ok.js"), "--event", file]);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/\[switchyard\] run-action: .*bad-event\.json: invalid event: \w+/);
      expect(result.stdout).toBe("");
    },
    SPAWN_TIMEOUT,
  );
});

describe("runActionOnce", () => {
  it("classifies a PermanentError-like throw as permanent", async () => {
    const report = await runActionOnce(join(dir, "permanent.js"), { event: "user.updated" });
    expect(report).toMatchObject({ status: "permanent", message: "Error: bad payload" });
  });

  it("runs a plugin package with --with options, and checks them against its schema", async () => {
    const url = `${server.url}/http-plugin`;
    const report = await runActionOnce("@switchyard/plugin-http", {
      event: "user.created",
      with: JSON.stringify({ url, headers: { "x-api-key": "header-secret-value" } }),
    });
    expect(report.status).toBe("delivered");
    const [request] = await server.waitForRequests(1, (r) => r.path === "/http-plugin");
    expect(request?.headers["x-api-key"]).toBe("header-secret-value");

    await expect(
      runActionOnce("@switchyard/plugin-http", { event: "user.created", with: "{}" }),
    ).rejects.toThrow('[switchyard] [http] missing option "url"');
    await expect(
      runActionOnce("@switchyard/plugin-http", { event: "user.created", with: "{x" }),
    ).rejects.toThrow("--with is not valid JSON");
  });

  it("says when --filter rejects the event, and does not run the action", async () => {
    const event = join(dir, "acme-user.json");
    writeFileSync(event, JSON.stringify({ ...loadEvent("user.created", dir).event, a0purpose: "test" }));
    const filtered = await runActionOnce(join(dir, "throw.js"), {
      event,
      filter: JSON.stringify({ not: { a0purpose: "test" } }),
    });
    expect(filtered).toMatchObject({
      status: "filtered",
      message: "filtered out by --filter: matches a `not` filter",
    });
    expect(formatReport(filtered)).toContain(
      "outcome:  filtered (the host would not deliver it to this action",
    );
    const passes = await runActionOnce(join(dir, "ok.js"), {
      event,
      filter: JSON.stringify({ a0purpose: "test" }),
      secret: [`TOKEN=${SECRET}`],
    });
    expect(passes.status).toBe("delivered");
    await expect(
      runActionOnce(join(dir, "ok.js"), { event, filter: JSON.stringify({ type: { startWith: "user." } }) }),
    ).rejects.toThrow(/invalid --filter: type\.startWith: unknown operator "startWith"/);
  });

  it("resolves a relative action from the --config file's folder", async () => {
    const report = await runActionOnce(
      "./actions/notify.js",
      { event: "user.deleted", config: "apps/host/test/fixtures/issue-config/switchyard.yaml", timeout: 50 },
      REPO,
    );
    // NOTIFY_URL is not set in this process: fetch throws, and that is the action's failure to report.
    expect(report.status).toBe("retryable");
  });

  it("says what is wrong with the plugin, the options or the secrets", async () => {
    await expect(runActionOnce(join(dir, "not-a-plugin.js"), { event: "user.created" })).rejects.toThrow(
      /cannot load .*not-a-plugin\.js.*is not a plugin/,
    );
    await expect(runActionOnce(join(dir, "missing.js"), { event: "user.created" })).rejects.toThrow(
      /file not found/,
    );
    await expect(
      runActionOnce(join(dir, "ok.js"), { event: "user.created", with: '{"url":"x"}' }),
    ).rejects.toThrow("--with is for plugins");
    expect(() => parseSecrets(["no-equals-sign-secret"])).toThrow("--secret #1 must be KEY=VALUE");
    expect(() => parseSecrets(["no-equals-sign-secret"])).not.toThrow("no-equals-sign-secret");
    expect(parseSecrets(["A=b=c", "EMPTY="])).toEqual({ A: "b=c", EMPTY: "" });
  });
});

describe("loadEvent", () => {
  it("reads a bare CloudEvent or a stream message from a file, and rejects unknown types", async () => {
    const { events } = await import("@switchyard/testing");
    const event = events.organizationCreated();
    writeFileSync(join(dir, "event.json"), JSON.stringify(event));
    writeFileSync(join(dir, "message.json"), JSON.stringify({ offset: "abc123", event }));
    expect(loadEvent("event.json", dir).event).toEqual(event);
    expect(loadEvent("message.json", dir).event).toEqual(event);
    expect(loadEvent("user.created", dir).event.type).toBe("user.created");
    expect(() => loadEvent("user.craeted", dir)).toThrow(
      /unknown event type "user\.craeted": give a JSON file or one of/,
    );
    expect(() => loadEvent("nope.json", dir)).toThrow(/event file not found/);

    writeFileSync(
      join(dir, "bad-message.json"),
      JSON.stringify({ offset: "o1", event: { ...event, id: 42 } }),
    );
    expect(() => loadEvent("bad-message.json", dir)).toThrow(/invalid stream message: event\.id: /);
  });
});

describe("runActionOnce --transform and --redact", () => {
  const SHAPE = `module.exports = (event) => {
  if (event.type === "user.deleted") return null;
  console.log("shaping %s", event.id);
  if (event.type === "user.updated") throw new Error("no updates");
  return { id: event.id, type: event.type, data: { email: event.data.object.email, name: event.data.object.name } };
};`;
  const SEEN = `exports.onExecuteEventStream = async (event) => { console.log("seen " + JSON.stringify(event.message)); };`;

  beforeAll(() => {
    writeFileSync(join(dir, "shape.js"), SHAPE);
    writeFileSync(join(dir, "seen.js"), SEEN);
  });

  it("runs the action on what the transform returns, then redacted, and shows it", async () => {
    const report = await runActionOnce(
      join(dir, "seen.js"),
      { event: "user.updated", type: "user.created", transform: "./shape.js", redact: ["data.email"] },
      dir,
    );
    expect(report.status).toBe("delivered");
    expect(report.event.type).toBe("user.created");
    expect(report.shaped).toEqual({
      id: report.event.id,
      type: "user.created",
      data: { name: expect.any(String) },
    });
    expect(report.console.map((line) => line.message)).toEqual([
      `shaping ${report.event.id}`,
      `seen ${JSON.stringify(report.shaped)}`,
    ]);
    expect(formatReport(report)).toContain("shaped:   the event the action got");
  });

  it("says when the transform skips the event or fails, with the file and line", async () => {
    const skipped = await runActionOnce(
      join(dir, "seen.js"),
      { event: "user.deleted", transform: "./shape.js" },
      dir,
    );
    expect(skipped.status).toBe("filtered");
    expect(skipped.message).toBe("filtered by transform ./shape.js (it returned null)");
    const failed = await runActionOnce(
      join(dir, "seen.js"),
      { event: "user.updated", transform: "./shape.js" },
      dir,
    );
    expect(failed.status).toBe("permanent");
    expect(failed.message).toBe("transform ./shape.js failed (at shape.js:4): Error: no updates");
    expect(formatReport(failed)).toContain("dead-letter it without running the action");
    await expect(
      runActionOnce(join(dir, "seen.js"), { event: "user.created", redact: ["data..x"] }, dir),
    ).rejects.toThrow(/--redact: "data\.\.x" is not a valid redaction path/);
    await expect(
      runActionOnce(join(dir, "seen.js"), { event: "user.created", type: "user.craeted" }, dir),
    ).rejects.toThrow(/unknown event type "user\.craeted"/);
  });
});
