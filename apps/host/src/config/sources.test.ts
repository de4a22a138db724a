import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError } from "@switchyard/core";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "./load.js";
import { tenantSources, tenantsOf } from "./schema.js";
import { createRedactor, redactConfig } from "./secrets.js";

const tmp = mkdtempSync(join(tmpdir(), "switchyard-sources-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = join(tmp, name);
  writeFileSync(file, text);
  return file;
}

async function configError(file: string, env: NodeJS.ProcessEnv = {}): Promise<ConfigError> {
  try {
    await loadConfig(file, env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

const SOURCE = "source:\n  auth0: { domain: example.us.auth0.com, token: t0k3n-value }\n";

describe("an action's filter", () => {
  it("loads a valid filter as written", async () => {
    const file = write(
      "filter.yaml",
      `${SOURCE}actions:\n  - name: acme\n    plugin: console\n    events: ["user.*"]\n    filter: { "data.object.email": { endsWith: "@acme.com" }, not: { a0purpose: test } }\n`,
    );
    const loaded = await loadConfig(file, {});
    expect(loaded.config.actions[0]!.filter).toEqual({
      "data.object.email": { endsWith: "@acme.com" },
      not: { a0purpose: "test" },
    });
  });

  it("names the file, line, column and the path down to the offending operator", async () => {
    const file = write(
      "bad-filter.yaml",
      [
        SOURCE.trimEnd(),
        "actions:",
        "  - name: ok",
        "    plugin: console",
        '    events: ["*"]',
        "  - name: acme",
        "    plugin: console",
        '    events: ["user.*"]',
        "    filter:",
        "      any:",
        "        - type: user.created",
        '        - "data.object.email": { endWith: "@acme.com" }',
        '        - "data..x": 1',
        '        - "data.object.logins_count": { gt: "3" }',
        "",
      ].join("\n"),
    );
    const error = await configError(file);
    expect(error.issues.map((i) => i.path)).toEqual([
      "actions[1].filter.any[1].data.object.email.endWith",
      "actions[1].filter.any[2].data..x",
      "actions[1].filter.any[3].data.object.logins_count.gt",
    ]);
    expect(error.message).toContain(
      `${file}:13:43: actions[1].filter.any[1].data.object.email.endWith: unknown operator "endWith"`,
    );
    expect(error.message).toMatch(
      /bad-filter\.yaml:14:\d+: actions\[1\]\.filter\.any\[2\]\.data\.\.x: "data\.\.x" is not a valid field path/,
    );
    expect(error.message).toMatch(/bad-filter\.yaml:15:\d+: .*\.gt: `gt` takes a number/);
  });
});

describe("source.webhook", () => {
  it("loads a webhook-only source with defaults, its secrets registered for redaction", async () => {
    const file = write(
      "webhook.yaml",
      'source:\n  webhook:\n    port: 0\n    path: /auth0/events\n    auth: { bearer: "${HOOK_AUTH}" }\nactions:\n  - { name: a, plugin: console, events: ["*"] }\n',
    );
    const loaded = await loadConfig(file, { HOOK_AUTH: "a-long-bearer-value-123" });
    expect(loaded.config.source!.auth0).toBeUndefined();
    expect(loaded.config.source!.webhook).toEqual({
      port: 0,
      host: "127.0.0.1",
      path: "/auth0/events",
      auth: { bearer: "a-long-bearer-value-123" },
      maxBodyBytes: 1024 * 1024,
      maxConnections: 1000,
      headersTimeoutMs: 30_000,
      requestTimeoutMs: 60_000,
    });
    expect(loaded.secrets).toContain("a-long-bearer-value-123");
    const printed = JSON.stringify(redactConfig(loaded.config, createRedactor(loaded.secrets)));
    expect(printed).not.toContain("a-long-bearer-value-123");
  });

  it("registers basic passwords and custom header values as secrets", async () => {
    for (const [auth, secret] of [
      ['{ basic: { username: auth0, password: "${HOOK_VALUE}" } }', "basic-password-456"],
      ['{ header: { name: x-switchyard-key, value: "${HOOK_VALUE}" } }', "header-value-789"],
    ] as const) {
      const file = write(
        "webhook-auth.yaml",
        `source:\n  webhook: { port: 0, path: /e, auth: ${auth} }\nactions:\n  - { name: a, plugin: console, events: ["*"] }\n`,
      );
      const loaded = await loadConfig(file, { HOOK_VALUE: secret });
      expect(loaded.secrets).toContain(secret);
    }
  });

  it.each([
    ["no source at all", "source: {}\n", "source", /needs `auth0` \(the event stream\), `webhook`, or both/],
    [
      "two auth methods",
      "source:\n  webhook: { port: 1, path: /e, auth: { bearer: abcdefgh1, header: { name: x-k, value: abcdefgh2 } } }\n",
      "source.webhook.auth",
      /exactly one of `bearer`, `basic` or `header`/,
    ],
    [
      "a bad header name",
      "source:\n  webhook: { port: 1, path: /e, auth: { header: { name: 'x k', value: abcdefgh2 } } }\n",
      "source.webhook.auth.header.name",
      /HTTP header name/,
    ],
    [
      "a path without a slash",
      "source:\n  webhook: { port: 1, path: events, auth: { bearer: abcdefgh1 } }\n",
      "source.webhook.path",
      /starting with "\/"/,
    ],
    [
      "a short token",
      "source:\n  webhook: { port: 1, path: /e, auth: { bearer: abc } }\n",
      "source.webhook.auth.bearer",
      /at least 8/,
    ],
  ])("rejects %s", async (_name, source, path, message) => {
    const file = write(
      "bad-webhook.yaml",
      `${source}actions:\n  - { name: a, plugin: console, events: ["*"] }\n`,
    );
    const error = await configError(file);
    expect(error.issues.map((i) => i.path)).toEqual([path]);
    expect(error.issues[0]!.message).toMatch(message);
  });
});

describe("several tenants (`sources`)", () => {
  // Parsed and validated only, never bound: two tenants' webhooks share a port by naming the same one, and
  // port 0 would mean a server of its own for each (the shared-port rules need a real number here).
  const TENANTS = `sources:
  - tenant: prod
    auth0: { domain: acme.us.auth0.com, clientId: cid, clientSecret: "\${PROD_SECRET}" }
    webhook: { port: 18443, path: /auth0/prod, auth: { bearer: "\${PROD_WEBHOOK_TOKEN}" } }
  - tenant: dev
    auth0: { domain: acme-dev.us.auth0.com, token: "\${DEV_TOKEN}" }
    webhook: { port: 18443, path: /auth0/dev, auth: { bearer: dev-hook-token-1 } }
`;
  const env = {
    PROD_SECRET: "prod-client-secret",
    PROD_WEBHOOK_TOKEN: "prod-hook-token",
    DEV_TOKEN: "dev-management-token",
  };

  it("loads each tenant's sources; actions serve every tenant unless they name theirs", async () => {
    const file = write(
      "tenants.yaml",
      `${TENANTS}actions:\n  - { name: signups, plugin: console, tenants: [prod], events: [user.created] }\n  - { name: all, plugin: console, events: ["*"] }\n`,
    );
    const loaded = await loadConfig(file, env);
    const sources = tenantSources(loaded.config);
    expect(sources.map((s) => [s.tenant, s.auth0?.domain, s.webhook?.path, s.a0tenants])).toEqual([
      ["prod", "acme.us.auth0.com", "/auth0/prod", ["prod", "acme"]],
      ["dev", "acme-dev.us.auth0.com", "/auth0/dev", ["dev", "acme-dev"]],
    ]);
    expect(loaded.config.actions.map((a) => tenantsOf(a, loaded.config))).toEqual([
      ["prod"],
      ["prod", "dev"],
    ]);
    // Every tenant's credentials are secrets.
    const redact = createRedactor(loaded.secrets);
    for (const secret of [...Object.values(env), "dev-hook-token-1"]) {
      expect(redact(`x ${secret} y`)).not.toContain(secret);
    }
  });

  it("keeps the single `source` as the tenant `default`, whose webhook accepts any a0tenant", async () => {
    const loaded = await loadConfig(
      write("one.yaml", `${SOURCE}actions:\n  - { name: a, plugin: console, events: ["*"] }\n`),
      {},
    );
    const [only, ...more] = tenantSources(loaded.config);
    expect(more).toEqual([]);
    expect(only!.tenant).toBe("default");
    expect(only!.a0tenants).toBeUndefined();
  });

  it("names the file, line and field of each mistake", async () => {
    const file = write(
      "bad-tenants.yaml",
      `${TENANTS}  - tenant: dev
    webhook: { port: 18443, host: 0.0.0.0, path: /auth0/prod, auth: { bearer: another-token } }
actions:
  - { name: a, plugin: console, tenants: [prod, staging], events: ["*"] }
`,
    );
    const message = (await configError(file, env)).message;
    expect(message).toContain(`${file}:9:`);
    expect(message).toContain('sources[2].tenant: duplicate tenant "dev" (also sources[1])');
    expect(message).toContain("sources[2].webhook.path: sources[0] already listens on this port and path");
    expect(message).toContain("sources[2].webhook: shares port 18443 with sources[0]");
    expect(message).toContain("actions[0].tenants[1]: names no configured tenant (known: prod, dev, dev)");
  });

  it("refuses `source` and `sources` together, and neither", async () => {
    const both = write(
      "both.yaml",
      `${SOURCE}${TENANTS}actions:\n  - { name: a, plugin: console, events: ["*"] }\n`,
    );
    expect((await configError(both, env)).message).toContain(
      "give `source` (one tenant) or `sources` (several), not both",
    );
    const neither = write("neither.yaml", `actions:\n  - { name: a, plugin: console, events: ["*"] }\n`);
    expect((await configError(neither)).message).toContain(
      "needs `source` (one tenant) or `sources` (several)",
    );
  });
});
