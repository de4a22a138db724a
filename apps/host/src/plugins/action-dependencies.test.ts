import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createEventFactory } from "@switchyard/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../test/cli.js";
import { runActionOnce } from "../commands/run-action.js";
import { loadConfig } from "../config/load.js";
import { resolvePlugin } from "./load.js";
import { resolveActions } from "./resolve-actions.js";

// An Auth0 action `require`s npm packages (`auth0`, `@hubspot/api-client`): here they are installed next to the
// config, in its node_modules. These are tiny local packages, as `npm install` would lay them out.

let dir: string;
const write = (name: string, text: string) => {
  const file = join(dir, name);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  return file;
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "switchyard-deps-"));
  write(
    "node_modules/tiny-crm/package.json",
    JSON.stringify({ name: "tiny-crm", version: "1.0.0", main: "index.js" }),
  );
  write(
    "node_modules/tiny-crm/index.js",
    'exports.contactOf = (user) => ({ email: user.email, source: "tiny-crm" });\n',
  );
  write(
    "node_modules/@acme/scim-client/package.json",
    JSON.stringify({ name: "@acme/scim-client", version: "2.0.0", type: "module", exports: "./index.js" }),
  );
  write(
    "node_modules/@acme/scim-client/index.js",
    'export const schema = "urn:ietf:params:scim:schemas:core:2.0:User";\n',
  );
  write(
    "actions/sync.js",
    `const { contactOf } = require("tiny-crm");
exports.onExecuteEventStream = async (event, api) => {
  const { schema } = await import("@acme/scim-client");
  api.log.info("synced", { contact: contactOf(event.message.data.object), schema });
};
`,
  );
  write(
    "actions/hubspot.js",
    `const { Client } = require("@hubspot/api-client");
exports.onExecuteEventStream = async () => new Client();
`,
  );
  write(
    "actions/esm-missing.mjs",
    `import { ManagementClient } from "auth0-not-installed/legacy";
export const onExecuteEventStream = async () => new ManagementClient();
`,
  );
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SOURCE =
  "source:\n  auth0: { domain: x.us.auth0.com, token: abcd1234 }\nstate: ./state\nserver: { port: 0 }\n";

describe("npm packages an action file requires", () => {
  it("are found next to the config (CommonJS require and ESM import, scoped or not)", async () => {
    const plugin = await resolvePlugin("./actions/sync.js", dir);
    expect(plugin.kind).toBe("file");
    const event = createEventFactory({ seed: 3 }).event("user.created", {
      object: { user_id: "auth0|1", email: "ana@example.com" },
    });
    const eventFile = write("event.json", JSON.stringify(event));
    const report = await runActionOnce(join(dir, "actions/sync.js"), { event: eventFile }, dir);
    expect(report.status).toBe("delivered");
    expect(report.logs).toContainEqual({
      level: "info",
      message: "synced",
      fields: {
        contact: { email: "ana@example.com", source: "tiny-crm" },
        schema: "urn:ietf:params:scim:schemas:core:2.0:User",
      },
    });
  });

  it("when missing, are a config error naming the package and the action file (CommonJS and ESM)", async () => {
    const file = write(
      "missing.yaml",
      `${SOURCE}actions:\n  - { name: hubspot, plugin: ./actions/hubspot.js, events: ["*"] }\n  - { name: auth0, plugin: ./actions/esm-missing.mjs, events: ["*"] }\n`,
    );
    const error = (await resolveActions(await loadConfig(file, {})).catch((e: unknown) => e)) as Error;
    expect(error.message).toContain(
      `actions[0].plugin: the action file ./actions/hubspot.js requires the npm package "@hubspot/api-client", which is not installed next to the config: run \`npm install @hubspot/api-client\` in ${dir}`,
    );
    expect(error.message).toContain(
      'actions[1].plugin: the action file ./actions/esm-missing.mjs requires the npm package "auth0-not-installed"',
    );
  });

  it("when missing, make validate and start exit 2 with that line", async () => {
    const file = write(
      "missing-start.yaml",
      `${SOURCE}actions:\n  - { name: hubspot, plugin: ./actions/hubspot.js, events: ["*"] }\n`,
    );
    for (const command of ["validate", "start"]) {
      const run = await runCli([command, "--config", file], {}, dir);
      expect(run.code, `${command}: ${run.stderr}`).toBe(2);
      expect(run.stderr).toContain(
        'the action file ./actions/hubspot.js requires the npm package "@hubspot/api-client"',
      );
      expect(run.stdout).toBe("");
    }
  }, 60_000);

  it("code that throws as it loads fails validate (exit 2); start runs the other actions", async () => {
    write("actions/throws.js", 'throw new Error("HUBSPOT_TOKEN is not set");\n');
    const file = write(
      "throws.yaml",
      `${SOURCE}actions:\n  - { name: broken, plugin: ./actions/throws.js, events: ["*"] }\n`,
    );
    const loaded = await loadConfig(file, {});
    const error = (await resolveActions(loaded).catch((e: unknown) => e)) as Error;
    expect(error.message).toContain(
      'actions[0].plugin: "./actions/throws.js": its code threw while loading: Error: HUBSPOT_TOKEN is not set',
    );
    const kept = await resolveActions(loaded, { keepBroken: true });
    expect(kept[0]).toMatchObject({
      kind: "broken",
      reason: "its code threw while loading: Error: HUBSPOT_TOKEN is not set",
    });
  });
});
