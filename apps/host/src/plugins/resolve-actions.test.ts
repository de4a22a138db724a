import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../test/cli.js";
import { unknownEventTypes } from "../config/event-warnings.js";
import { loadConfig } from "../config/load.js";
import { closest, resolvePlugin } from "./load.js";
import { resolveActions } from "./resolve-actions.js";

let dir: string;
const write = (name: string, text: string) => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "switchyard-resolve-"));
  mkdirSync(join(dir, "actions"));
  // No package.json "type": "module" above: a CommonJS-scoped TypeScript action, as most users' folders are.
  write(
    "actions/boom.ts",
    [
      "interface Thing { n: number }",
      "export async function onExecuteEventStream(): Promise<void> {",
      "  const thing: Thing = { n: 1 };",
      "  throw new Error(`boom ${thing.n}`);",
      "}",
      "",
    ].join("\n"),
  );
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SOURCE =
  "source:\n  auth0:\n    domain: x.us.auth0.com\n    clientId: abc\n    clientSecret: ${TEST_SECRET}\n";

describe("plugin options in the config", () => {
  it("names the file:line of an unknown option and suggests the known one", async () => {
    const file = write(
      "typo.yaml",
      `${SOURCE}actions:\n  - name: slack\n    plugin: "@switchyard/plugin-slack"\n    events: ["*"]\n    with:\n      token: xoxb-1\n      chanel: "#x"\n`,
    );
    const loaded = await loadConfig(file, { TEST_SECRET: "s3cret-value" });
    const error = await resolveActions(loaded).catch((e: Error) => e);
    expect((error as Error).message).toMatch(
      /typo\.yaml:12:\d+: actions\[0\]\.with\.chanel: unknown option "chanel" \(did you mean "channel"\?\)/,
    );
  });

  it.each([
    ["constructor", /cannot find plugin package "constructor"/],
    ["__proto__", /"__proto__" is not a built-in plugin \(console\), a package name/],
    ["toString", /"toString" is not a built-in plugin/],
    ["hasOwnProperty", /"hasOwnProperty" is not a built-in plugin/],
  ])("refuses `plugin: %s` (never a property of the built-ins' table)", async (plugin, message) => {
    const file = write(
      `proto-${plugin}.yaml`,
      `${SOURCE}actions:\n  - name: a\n    plugin: "${plugin}"\n    events: ["*"]\n`,
    );
    const loaded = await loadConfig(file, { TEST_SECRET: "s3cret-value" });
    const error = await resolveActions(loaded).catch((e: Error) => e);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toMatch(/:8:\d+: actions\[0\]\.plugin: /);
  });

  it("says `missing option` for a required option left out, as the plugin itself and run-action do", async () => {
    const file = write(
      "missing.yaml",
      `${SOURCE}actions:\n  - name: slack\n    plugin: "@switchyard/plugin-slack"\n    events: ["*"]\n    with:\n      channel: "#x"\n`,
    );
    const error = await resolveActions(await loadConfig(file, { TEST_SECRET: "s3cret-value" })).catch(
      (e: Error) => e,
    );
    expect((error as Error).message).toMatch(
      /missing\.yaml:\d+:\d+: actions\[0\]\.with\.token: missing option "token"$/m,
    );
    const run = await runCli(["validate", "--config", file], { TEST_SECRET: "s3cret-value" });
    expect(run.stderr).toContain('actions[0].with.token: missing option "token"');
  }, 60_000);

  it("warns, with the nearest known type, of an exact type in `events` that is not in the catalog", async () => {
    const file = write(
      "typo-type.yaml",
      `${SOURCE}actions:\n  - name: c\n    plugin: console\n    events: ["user.*", "user.creatd", "organization.member.added"]\n`,
    );
    const loaded = await loadConfig(file, { TEST_SECRET: "s3cret-value" });
    expect(unknownEventTypes(loaded)).toEqual([
      { path: "actions[0].events[1]", at: ":9:24", type: "user.creatd", nearest: "user.created" },
    ]);
    const run = await runCli(["validate", "--config", file], { TEST_SECRET: "s3cret-value" });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("valid (1 actions, 1 warning)");
    expect(run.stderr).toContain(
      `${file}:9:24: actions[0].events[1]: warning: "user.creatd" is not an event type this version knows: it matches nothing until Auth0 sends it (did you mean "user.created"?)`,
    );
  }, 60_000);

  it("refuses `with` on an Auth0 action file, at its line", async () => {
    const file = write(
      "file-with.yaml",
      `${SOURCE}actions:\n  - name: boom\n    plugin: ./actions/boom.ts\n    events: ["*"]\n    with: { url: "https://example.com" }\n`,
    );
    const loaded = await loadConfig(file, { TEST_SECRET: "s3cret-value" });
    const error = await resolveActions(loaded).catch((e: Error) => e);
    expect((error as Error).message).toMatch(
      new RegExp(
        `${file.replaceAll(".", "\\.")}:10:\\d+: actions\\[0\\]\\.with: .*takes no options.*secrets`,
      ),
    );
  });

  it("keeps a numeric ${VAR} a string where a string is wanted: the source's and a plugin's", async () => {
    const file = write(
      "numeric.yaml",
      `${SOURCE}server:\n  port: \${TEST_PORT}\nactions:\n  - name: slack\n    plugin: "@switchyard/plugin-slack"\n    events: ["*"]\n    with:\n      token: \${TEST_TOKEN}\n      channel: "#x"\n      timeoutMs: \${TEST_TIMEOUT}\n`,
    );
    const loaded = await loadConfig(file, {
      TEST_SECRET: "12345",
      TEST_PORT: "9999",
      TEST_TOKEN: "4242",
      TEST_TIMEOUT: "3000",
    });
    expect(loaded.config.source!.auth0?.clientSecret).toBe("12345");
    expect(loaded.config.server.port).toBe(9999);
    await resolveActions(loaded);
    expect(loaded.config.actions[0]!.with).toEqual({ token: "4242", channel: "#x", timeoutMs: 3000 });
  });
});

describe("a TypeScript action file", () => {
  it("throws with its own file and line in the stack, not a data: URL", async () => {
    const plugin = await resolvePlugin("./actions/boom.ts", dir);
    expect(plugin.kind).toBe("file");
    const action = plugin.kind === "file" ? plugin.action : undefined;
    const error = (await Promise.resolve()
      .then(() => action!.onExecuteEventStream({} as never, {} as never))
      .catch((e: unknown) => e)) as Error;
    expect(error.message).toBe("boom 1");
    // The line needs Node's source maps, which vitest's own stack formatting bypasses: the real CLI shows it.
    expect(error.stack).toContain(`(${join(dir, "actions", "boom.ts")}:`);
    expect(error.stack).not.toContain("data:");
    const run = await runCli(["run-action", join(dir, "actions", "boom.ts")]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`at Object.onExecuteEventStream (${join(dir, "actions", "boom.ts")}:4:`);
    expect(run.stdout).not.toContain("data:");
  }, 60_000);
});

describe("closest", () => {
  it("suggests a near name only", () => {
    expect(closest("chanel", ["token", "channel", "apiUrl"])).toBe("channel");
    expect(closest("writekey", ["writeKey", "host"])).toBe("writeKey");
    expect(closest("colour", ["token", "channel"])).toBeUndefined();
  });
});
