import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadWithFakeTenant } from "./fake-tenant.js";

const fake = { url: "http://127.0.0.1:1", clientId: "fake-id", clientSecret: "fake-secret" };
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "switchyard-fake-config-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("loadWithFakeTenant", () => {
  it("replaces the single source, needing none of its variables", async () => {
    const file = join(dir, "switchyard.yaml");
    writeFileSync(
      file,
      `source:
  auth0: { domain: "\${AUTH0_DOMAIN}", token: "\${AUTH0_TOKEN}" }
actions:
  - { name: log, plugin: "@switchyard/plugin-console", events: ["*"] }
`,
    );
    const loaded = await loadWithFakeTenant(file, fake, {});
    expect(loaded.config.source?.auth0).toMatchObject({ domain: fake.url, clientId: fake.clientId });
    expect(loaded.stateDir).toBe(join(dir, ".switchyard", "fake-tenant"));
  });

  it("replaces each tenant's sources, keeping the tenants that actions select", async () => {
    const file = join(dir, "switchyard.yaml");
    writeFileSync(
      file,
      `sources:
  - tenant: prod
    auth0: { domain: "\${PROD_DOMAIN}", token: "\${PROD_TOKEN}" }
    webhook: { port: 0, path: /auth0/prod, auth: { bearer: "\${PROD_HOOK}" } }
  - tenant: dev
    auth0: { domain: "dev.example.com", token: "\${DEV_TOKEN}" }
actions:
  - { name: signups, plugin: "@switchyard/plugin-console", tenants: [prod], events: ["user.created"] }
`,
    );
    const loaded = await loadWithFakeTenant(file, fake, {});
    expect(loaded.config.source).toBeUndefined();
    expect(loaded.config.sources?.map((s) => [s.tenant, s.auth0?.domain, s.webhook])).toEqual([
      ["prod", fake.url, undefined],
      ["dev", fake.url, undefined],
    ]);
  });
});
