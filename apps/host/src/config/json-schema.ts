import http from "@switchyard/plugin-http";
import segment from "@switchyard/plugin-segment";
import slack from "@switchyard/plugin-slack";
import { z } from "zod";
import consolePlugin from "../plugins/console.js";
import { configSchema } from "./schema.js";

/** A JSON Schema node, loosely typed: this module only rearranges what zod produced. */
type Node = Record<string, unknown>;

/** The bundled plugins whose `with` the schema knows, by the `plugin` value that selects them. */
const BUNDLED: Record<string, unknown> = {
  console: consolePlugin.optionsSchema,
  "@switchyard/plugin-slack": slack.optionsSchema,
  "@switchyard/plugin-segment": segment.optionsSchema,
  "@switchyard/plugin-http": http.optionsSchema,
};

const PLACEHOLDER = "#/$defs/envPlaceholder";

const isZod = (value: unknown): value is z.ZodType =>
  typeof value === "object" && value !== null && "_zod" in value;

function toJsonSchema(schema: z.ZodType): Node {
  // `input`: the config as written, where fields with defaults are optional; functions (from a JS/TS config)
  // have no JSON form and accept anything here.
  return z.toJSONSchema(schema, { target: "draft-2020-12", io: "input", unrepresentable: "any" }) as Node;
}

/**
 * `${VAR}` may stand for any value, so wherever the config wants a number, a boolean, one of a list, or a string
 * of a given shape (a URL, a name pattern), a placeholder is accepted too; the loader checks the value after
 * substitution.
 */
function allowPlaceholders(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(allowPlaceholders);
  if (typeof node !== "object" || node === null) return node;
  const out: Node = {};
  for (const [key, value] of Object.entries(node)) {
    // `properties` and `$defs` map names to schemas; `enum`, `const`, `default` and `required` hold values.
    if (key === "properties" || key === "$defs" || key === "patternProperties") {
      out[key] = Object.fromEntries(Object.entries(value as Node).map(([k, v]) => [k, allowPlaceholders(v)]));
    } else if (["enum", "const", "default", "required", "examples"].includes(key)) {
      out[key] = value;
    } else {
      out[key] = allowPlaceholders(value);
    }
  }
  const type = out.type;
  const constrained =
    type === "number" ||
    type === "integer" ||
    type === "boolean" ||
    out.enum !== undefined ||
    out.const !== undefined ||
    (type === "string" && (out.format !== undefined || out.pattern !== undefined));
  if (!constrained) return out;
  // The field's description stays on the field, where editors (and the README's tables) read it.
  const { description, ...rest } = out;
  return description === undefined
    ? { anyOf: [rest, { $ref: PLACEHOLDER }] }
    : { description, anyOf: [rest, { $ref: PLACEHOLDER }] };
}

/**
 * The config's JSON Schema (draft 2020-12), for editors (`# yaml-language-server: $schema=…`): generated from
 * the loader's zod schemas, with each bundled plugin's options (and those of `firstParty`, the installed
 * first-party plugins) under `with` chosen by the action's `plugin`.
 * Checks the loader makes in code (duplicate names, event patterns, credentials that go together) are not in it.
 */
export function configJsonSchema(firstParty: Record<string, unknown> = {}): Node {
  const root = toJsonSchema(configSchema);
  const actions = (root.properties as Record<string, Node>).actions!;
  const item = actions.items as Node;
  item.allOf = Object.entries({ ...BUNDLED, ...firstParty }).flatMap(([plugin, options]) => {
    if (!isZod(options)) return [];
    const { $schema: _, ...schema } = toJsonSchema(options);
    return [
      {
        if: { properties: { plugin: { const: plugin } }, required: ["plugin"] },
        // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then, never awaited.
        then: { properties: { with: schema } },
      },
    ];
  });
  const withPlaceholders = allowPlaceholders(root) as Node;
  const { $schema, ...rest } = withPlaceholders;
  return {
    $schema,
    title: "Switchyard config (switchyard.yaml)",
    ...rest,
    $defs: {
      ...((rest.$defs as Node | undefined) ?? {}),
      envPlaceholder: {
        type: "string",
        pattern: "\\$\\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\\}",
        description:
          "an environment variable, substituted when the config is loaded: ${VAR} or ${VAR:-default}",
      },
    },
  };
}
