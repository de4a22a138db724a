import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError } from "@switchyard/core";
import { afterAll, describe, expect, it } from "vitest";
import { resolveActions } from "../plugins/resolve-actions.js";
import { loadConfig } from "./load.js";
import { createRedactor, redactConfig } from "./secrets.js";

const ISSUE_CONFIG = fileURLToPath(
  new URL("../../test/fixtures/issue-config/switchyard.yaml", import.meta.url),
);
const env = {
  AUTH0_DOMAIN: "http://127.0.0.1:4010",
  AUTH0_CLIENT_ID: "client-id-123",
  AUTH0_CLIENT_SECRET: "client-secret-abcdef",
  SLACK_TOKEN: "xoxb-slack-token-999",
  SEGMENT_WRITE_KEY: "segment-write-key-777",
  WAREHOUSE_URL: "http://127.0.0.1:4020/events",
  WAREHOUSE_SECRET: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  MY_API_KEY: "my-api-key-555",
};
const tmp = mkdtempSync(join(tmpdir(), "switchyard-config-"));
writeFileSync(join(tmp, "not-a-plugin.mjs"), "export const answer = 42;\n");
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = join(tmp, name);
  writeFileSync(file, text);
  return file;
}

async function configError(file: string, environment: NodeJS.ProcessEnv = env): Promise<ConfigError> {
  try {
    const loaded = await loadConfig(file, environment);
    await resolveActions(loaded);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("loadConfig", () => {
  it("loads the issue's config exactly as written, with defaults", async () => {
    const loaded = await loadConfig(ISSUE_CONFIG, env);
    const { config } = loaded;
    expect(config.source!.auth0).toMatchObject({
      domain: env.AUTH0_DOMAIN,
      clientId: env.AUTH0_CLIENT_ID,
      fromTimestamp: "2026-11-01T00:00:00Z",
    });
    // The default port, asserted (nothing binds it here).
    expect(config.server.port).toBe(9464);
    expect(config.server).toEqual({
      port: config.server.port,
      host: "127.0.0.1",
      enabled: true,
      maxConnections: 1000,
      headersTimeoutMs: 30_000,
      requestTimeoutMs: 60_000,
    });
    expect(config.actions.map((a) => a.name)).toEqual([
      "signups-to-slack",
      "segment",
      "warehouse",
      "my-action",
    ]);
    expect(config.actions[0]!.with).toEqual({
      token: env.SLACK_TOKEN,
      channel: "#signups",
      apiUrl: "https://slack.com/api/",
    });
    expect(config.actions[1]!.with.host).toBe("https://api.segment.io");
    expect(config.actions[2]!.retry.maxAttempts).toBe(10);
    expect(config.actions[3]!.secrets).toEqual({ API_KEY: env.MY_API_KEY });
    expect(config.actions[3]!.timeoutMs).toBe(10_000);
    expect(loaded.stateDir).toBe(join(ISSUE_CONFIG, "..", ".switchyard"));
    const plugins = await resolveActions(loaded);
    expect(plugins.map((p) => p.kind)).toEqual(["factory", "factory", "factory", "file"]);
  });

  it("names the file, the line and the field of an unset variable", async () => {
    const { SLACK_TOKEN: _unset, ...rest } = env;
    const error = await configError(ISSUE_CONFIG, rest);
    expect(error.message).toMatch(
      /switchyard\.yaml:14:\d+: actions\[0\]\.with\.token: environment variable SLACK_TOKEN is not set/,
    );
  });

  it.each([
    [
      "an unknown plugin",
      { plugin: '"@switchyard/plugin-nope"' },
      /actions\[0\]\.plugin: cannot find plugin package "@switchyard\/plugin-nope"/,
    ],
    [
      "a bad pattern",
      { events: '["user.**"]' },
      /actions\[0\]\.events\[0\]: "user\.\*\*" is not a valid event pattern/,
    ],
    ["a bad option", { with: "{ url: 42 }" }, /actions\[0\]\.with\.url: /],
    ["a missing option", { with: "{}" }, /actions\[0\]\.with\.url: /],
    ["an unknown field", { retyr: "{ maxAttempts: 3 }" }, /actions\[0\]: unknown field\(s\) "retyr"/],
    ["a missing plugin file", { plugin: "./nope.js" }, /actions\[0\]\.plugin: file not found: .*nope\.js/],
    [
      "a module that is not a plugin",
      { plugin: "./not-a-plugin.mjs" },
      /actions\[0\]\.plugin: ".\/not-a-plugin\.mjs" is not a plugin: it must default-export a factory/,
    ],
  ])("rejects %s, naming the field", async (_name, fields, message) => {
    const action = {
      name: "a",
      plugin: '"@switchyard/plugin-http"',
      events: '["*"]',
      with: "{ url: http://127.0.0.1:1 }",
      ...fields,
    };
    const body = Object.entries(action)
      .map(([k, v]) => `    ${k}: ${v}`)
      .join("\n")
      .replace(/^ {4}/, "  - ");
    const file = write(
      "bad.yaml",
      `source:\n  auth0: { domain: example.us.auth0.com, token: t0k3n-value }\nactions:\n${body}\n`,
    );
    const error = await configError(file);
    expect(error.message).toContain(file);
    expect(error.message).toMatch(message);
  });

  it("rejects a source without credentials and a duplicate action name", async () => {
    const file = write(
      "dupes.yaml",
      "source:\n  auth0: { domain: example.us.auth0.com }\nactions:\n  - { name: a, plugin: console, events: ['*'] }\n  - { name: a, plugin: console, events: ['*'] }\n",
    );
    const error = await configError(file);
    expect(error.issues.map((i) => i.path)).toEqual(["source.auth0", "actions[1].name"]);
  });

  it("reports invalid YAML with its position", async () => {
    const file = write("broken.yaml", "source:\n  auth0: [\n");
    expect((await configError(file)).message).toMatch(/broken\.yaml:\d+:\d+: invalid YAML/);
  });

  it("says to quote an unquoted ${VAR} inside a flow map, which YAML reads as a nested map", async () => {
    const file = write(
      "flow.yaml",
      "source:\n  auth0: { domain: ${DOMAIN}, token: abcdefgh }\nactions: []\n",
    );
    expect((await configError(file)).message).toMatch(
      /flow\.yaml:2:\d+: invalid YAML: .*quote each \$\{…\}: \{ port: "\$\{PORT\}" \}/,
    );
  });

  it("loads a TypeScript config written with defineConfig", async () => {
    const file = write(
      "switchyard.config.ts",
      `import { defineConfig } from "${fileURLToPath(new URL("./schema.ts", import.meta.url))}";
export default defineConfig({
  source: { auth0: { domain: "example.us.auth0.com", token: "\${AUTH0_TOKEN:-dev-token}" } },
  actions: [{ name: "log", plugin: "console", events: ["user.*"], retry: { maxAttempts: 2 } }],
});
`,
    );
    const loaded = await loadConfig(file, {});
    expect(loaded.config.source!.auth0?.token).toBe("dev-token");
    expect(loaded.config.actions[0]!.retry).toMatchObject({ maxAttempts: 2, initialDelayMs: 1000 });
  });

  it("turns a whole-placeholder number into a number", async () => {
    const file = write(
      "port.yaml",
      "source:\n  auth0: { domain: x.us.auth0.com, token: abcd }\nserver: { port: '${PORT:-0}' }\nactions:\n  - { name: a, plugin: console, events: ['*'] }\n",
    );
    expect((await loadConfig(file, {})).config.server.port).toBe(0);
  });
});

describe("secrets", () => {
  it("collects every secret and redacts them wherever the config is printed", async () => {
    const loaded = await loadConfig(ISSUE_CONFIG, env);
    const redact = createRedactor(loaded.secrets);
    const printed = JSON.stringify(redactConfig(loaded.config, redact));
    for (const secret of [
      env.AUTH0_CLIENT_SECRET,
      env.SLACK_TOKEN,
      env.SEGMENT_WRITE_KEY,
      env.WAREHOUSE_SECRET,
      env.MY_API_KEY,
    ]) {
      expect(loaded.secrets).toContain(secret);
      expect(printed).not.toContain(secret);
    }
    expect(printed).toContain("#signups");
    expect(redact(`token=${env.SLACK_TOKEN}; again ${env.SLACK_TOKEN}`)).toBe(
      "token=[redacted]; again [redacted]",
    );
  });

  it("finds the secrets a URL carries: a state URL's ?password=, a token in a plugin URL's query string", async () => {
    const file = join(tmp, "url-secrets.yaml");
    writeFileSync(
      file,
      [
        "source:",
        "  auth0: { domain: x.us.auth0.com, token: static-token-1 }",
        'state: "postgres://app@db.internal/switchyard?sslmode=require&password=Pg%2Fpass%3Dword"',
        "actions:",
        "  - name: hook",
        '    plugin: "@switchyard/plugin-http"',
        '    events: ["*"]',
        '    with: { url: "https://hooks.example.com/in?team=ops&access_token=qs-token-42#frag" }',
        "",
      ].join("\n"),
    );
    const loaded = await loadConfig(file, {});
    const redact = createRedactor(loaded.secrets);
    const printed = JSON.stringify(redactConfig(loaded.config, redact));
    for (const secret of ["Pg/pass=word", "Pg%2Fpass%3Dword", "qs-token-42"]) {
      expect(loaded.secrets).toContain(secret);
      expect(printed).not.toContain(secret);
    }
    expect(printed).toContain("team=ops");
    expect(loaded.stateDir).not.toMatch(/Pg/);
    expect(loaded.stateDir).toContain("sslmode=require");
  });

  it("redacts a secret where it stands JSON-escaped or percent-encoded", () => {
    const secret = 'p"a\\ss/wo rd';
    const redact = createRedactor([secret]);
    const inJson = JSON.stringify({ message: `refused ${secret}` });
    expect(redact(inJson)).toBe('{"message":"refused [redacted]"}');
    expect(redact(`https://x.example/?k=${encodeURIComponent(secret)}`)).toBe(
      "https://x.example/?k=[redacted]",
    );
    expect(redact(`raw ${secret}`)).toBe("raw [redacted]");
  });

  it("refuses an action secret too short to be redacted, naming it", async () => {
    const file = join(tmp, "short-secret.yaml");
    writeFileSync(
      file,
      "source:\n  auth0: { domain: x.us.auth0.com, token: static-token-1 }\nactions:\n  - name: a\n    plugin: console\n    events: ['*']\n    secrets: { PIN: '123' }\n",
    );
    await expect(loadConfig(file, {})).rejects.toThrow(
      /short-secret\.yaml:7:\d+: actions\[0\]\.secrets\.PIN: must be at least 4 characters/,
    );
  });
});
