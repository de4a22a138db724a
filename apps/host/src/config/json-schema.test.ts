import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { firstPartyOptionSchemas } from "../plugins/first-party.js";
import {
  configTables,
  pluginOptions,
  pluginReadmePath,
  undescribed,
  withConfigTables,
  withOptionsTable,
} from "./config-tables.js";
import { configJsonSchema } from "./json-schema.js";

const repo = (path: string) => fileURLToPath(new URL(`../../../../${path}`, import.meta.url));
const yaml = (path: string) => parse(readFileSync(repo(path), "utf8")) as Record<string, unknown>;

const schema = configJsonSchema(await firstPartyOptionSchemas());
// Formats are annotations in 2020-12; a placeholder such as `${URL}/events` stands where a URL is wanted.
const validate = new Ajv2020({ allErrors: true, validateFormats: false }).compile(schema);
const errors = () => JSON.stringify(validate.errors, null, 2);

/** The README's config block, as a user would copy it. */
function readmeConfig(): unknown {
  const text = readFileSync(repo("apps/host/README.md"), "utf8");
  const block = /```yaml\n([\s\S]*?)```/.exec(text)?.[1];
  return parse(block ?? "");
}

describe("switchyard schema (the config's JSON Schema)", () => {
  it.each([
    "apps/host/demo/switchyard.yaml",
    "examples/auth0-action/switchyard.yaml",
    "apps/host/test/fixtures/issue-config/switchyard.yaml",
  ])("accepts %s, placeholders and all", (path) => {
    expect(validate(yaml(path)), errors()).toBe(true);
  });

  it("accepts the README's config", () => {
    expect(validate(readmeConfig()), errors()).toBe(true);
  });

  it("rejects a misspelt option of a bundled plugin, a misspelt field and a bad value", () => {
    const config = yaml("apps/host/test/fixtures/issue-config/switchyard.yaml");
    const actions = config.actions as Array<Record<string, unknown>>;
    actions[0]!.with = { token: "${SLACK_TOKEN}", chanel: "#signups" };
    expect(validate(config)).toBe(false);
    expect(validate.errors).toContainEqual(
      expect.objectContaining({ instancePath: "/actions/0/with", params: { additionalProperty: "chanel" } }),
    );

    const http = yaml("apps/host/test/fixtures/issue-config/switchyard.yaml");
    (http.actions as Array<Record<string, unknown>>)[2]!.with = { url: "https://example.com", method: "GET" };
    expect(validate(http)).toBe(false);

    const field = yaml("apps/host/demo/switchyard.yaml");
    (field.actions as Array<Record<string, unknown>>)[0]!.evnets = ["*"];
    expect(validate(field)).toBe(false);

    const port = yaml("apps/host/demo/switchyard.yaml");
    port.server = { port: "nine" };
    expect(validate(port)).toBe(false);
  });

  it("leaves the options of plugins it does not bundle open", () => {
    const config = yaml("apps/host/test/fixtures/issue-config/switchyard.yaml");
    (config.actions as Array<Record<string, unknown>>)[0]!.plugin = "acme-crm";
    (config.actions as Array<Record<string, unknown>>)[0]!.with = { anything: 1 };
    expect(validate(config), errors()).toBe(true);
  });

  it("has every setting the loader accepts documented in apps/host/README.md's tables", () => {
    const readme = readFileSync(repo("apps/host/README.md"), "utf8");
    const props = (node: unknown) => (node as { properties?: Record<string, unknown> }).properties ?? {};
    const unwrap = (node: unknown): unknown => (node as { anyOf?: unknown[] }).anyOf?.[0] ?? node;
    const missing: string[] = [];
    const walk = (node: unknown, path: string) => {
      for (const [key, child] of Object.entries(props(unwrap(node)))) {
        const at = path ? `${path}.${key}` : key;
        const leaf = Object.keys(props(unwrap(child))).length === 0 || key === "with";
        // Top-level sections are documented by path (`server.enabled`); the source's and an action's fields
        // have tables of their own, which name the field alone.
        const name = /^(server|log|delivery)\./.test(at) ? at : key;
        if (leaf && !readme.includes(`\`${name}\``) && !readme.includes(`\`${at}\``)) missing.push(at);
        if (!leaf) walk(child, at);
      }
    };
    const root = schema as { properties: Record<string, unknown> };
    const { actions, ...rest } = root.properties;
    walk({ properties: rest }, "");
    walk((actions as { items: unknown }).items, "");
    expect(missing).toEqual([]);
  });

  it("describes every field of the config and every option of each plugin's `with`", () => {
    // Every bundled and first-party plugin's options are in the schema, so the walk below covers them all.
    expect(Object.keys(pluginOptions(schema)).sort()).toEqual(
      [
        "console",
        ...["http", "slack", "segment", "eventbridge", "sqs", "sql", "nats", "rabbitmq", "redis"].map(
          (name) => `@switchyard/plugin-${name}`,
        ),
      ].sort(),
    );
    expect(undescribed(schema)).toEqual([]);
    // The walk does look into plugins' options, nested objects and map values: it names what lacks a text.
    expect(
      undescribed({
        properties: {
          actions: {
            items: {
              properties: {},
              allOf: [
                {
                  if: { properties: { plugin: { const: "p" } } },
                  // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then, never awaited.
                  then: {
                    properties: {
                      with: {
                        properties: {
                          a: { type: "string" },
                          b: {
                            description: "b",
                            properties: { c: { type: "string" } },
                            additionalProperties: { anyOf: [{ properties: { d: {} } }] },
                          },
                        },
                      },
                    },
                  },
                },
              ],
            },
          },
        },
      }),
    ).toEqual(["actions", "with(p).a", "with(p).b.c", "with(p).b.*.d"]);
    const actions = (
      schema as { properties: { actions: { items: { properties: Record<string, unknown> } } } }
    ).properties.actions.items.properties;
    // A constrained field keeps its description beside the `${VAR}` alternative, where editors show it.
    expect(actions.concurrency).toMatchObject({ description: "attempts of this action in flight at once" });
  });

  it("has the README's config tables generated from those descriptions (`pnpm --filter @switchyard/host docs:config`)", () => {
    const readme = readFileSync(repo("apps/host/README.md"), "utf8");
    expect(readme).toBe(withConfigTables(readme, configTables(schema)));
    expect(readme).toContain("| `redact`");
  });

  it("has each plugin README's options table generated from its options' descriptions (`pnpm --filter @switchyard/host docs:config`)", () => {
    let tables = 0;
    for (const [plugin, options] of Object.entries(pluginOptions(schema))) {
      const file = pluginReadmePath(plugin, repo(""));
      if (!file) continue;
      const readme = readFileSync(file, "utf8");
      expect(readme, file).toBe(withOptionsTable(readme, options));
      tables++;
    }
    expect(tables).toBe(9);
  });

  it("is the committed apps/host/switchyard.schema.json (run `switchyard schema > switchyard.schema.json`)", () => {
    const committed = JSON.parse(readFileSync(repo("apps/host/switchyard.schema.json"), "utf8"));
    expect(committed).toEqual(schema);
  });
});
