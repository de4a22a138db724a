import { configJsonSchema } from "./json-schema.js";

// The README's config tables are generated from the config's JSON Schema, whose descriptions come from the
// zod schemas in schema.ts (`.describe(…)`): one text per field, shown by editors and in the README alike.
// `pnpm --filter @switchyard/host docs:config` rewrites the README between the markers below; a test checks
// that it is up to date. Each plugin's options table in its README comes the same way from its options'
// schema (plugins/*/src/options.ts), as the config's JSON Schema holds it under `with`.

type Node = Record<string, unknown>;

export const TABLES_START =
  "<!-- config-tables: generated from src/config/schema.ts by `pnpm --filter @switchyard/host docs:config`; edit the descriptions there -->";
export const TABLES_END = "<!-- /config-tables -->";
export const OPTIONS_START =
  "<!-- options-table: generated from src/options.ts by `pnpm --filter @switchyard/host docs:config`; edit the descriptions there -->";
export const OPTIONS_END = "<!-- /options-table -->";

/** One documented field: its dotted name, its default as the table shows it, and its description. */
export interface FieldRow {
  name: string;
  default: string;
  description: string | undefined;
}

/** A node without the `${VAR}` alternative that json-schema.ts adds beside constrained fields. */
function unwrap(node: Node): Node {
  const anyOf = node.anyOf as Node[] | undefined;
  if (anyOf?.length === 2 && (anyOf[1] as Node).$ref === "#/$defs/envPlaceholder") {
    return { ...(anyOf[0] as Node), ...(node.description ? { description: node.description } : {}) };
  }
  return node;
}

const propertiesOf = (node: Node): Record<string, Node> | undefined =>
  unwrap(node).properties as Record<string, Node> | undefined;

/** Objects documented as one row: free-form maps, the filter, and a field of several forms. */
const LEAVES = new Set(["with", "secrets", "filter", "transform"]);

function showDefault(node: Node, required: boolean): string {
  if (required) return "(required)";
  const value = unwrap(node).default ?? node.default;
  if (value === undefined) return "none";
  if (typeof value === "number") return String(value);
  return `\`${JSON.stringify(value).replace(/^"|"$/g, "")}\``;
}

/**
 * The rows of `node`'s fields, nested objects flattened into dotted names. A field required inside an optional
 * object (`source.webhook.tls.cert`) says so: `(with tls)`.
 */
export function fieldRows(node: Node, prefix = "", within?: string): FieldRow[] {
  const props = propertiesOf(node) ?? {};
  const required = new Set((unwrap(node).required as string[] | undefined) ?? []);
  const rows: FieldRow[] = [];
  for (const [key, child] of Object.entries(props)) {
    const name = `${prefix}${key}`;
    const nested = !LEAVES.has(key) ? propertiesOf(child) : undefined;
    if (nested) {
      const optional = !required.has(key) && unwrap(child).default === undefined;
      rows.push(...fieldRows(child, `${name}.`, optional ? key : within));
      continue;
    }
    const needed = required.has(key);
    rows.push({
      name,
      default: needed && within !== undefined ? `(with \`${within}\`)` : showDefault(child, needed),
      description: (unwrap(child).description as string | undefined) ?? undefined,
    });
  }
  return rows;
}

/** Each plugin's `with` options in the config's JSON Schema, by the `plugin` value that selects them. */
export function pluginOptions(schema: Node = configJsonSchema()): Record<string, Node> {
  const item = unwrap((schema.properties as Record<string, Node>).actions!).items as Node;
  const found: Record<string, Node> = {};
  for (const branch of (item.allOf as Node[] | undefined) ?? []) {
    const plugin = unwrap(((branch.if as Node).properties as Record<string, Node>).plugin!).const;
    found[String(plugin)] = ((branch.then as Node).properties as Record<string, Node>).with!;
  }
  return found;
}

/**
 * Every property of the config's schema that has no description: the config's own, and each plugin's `with`
 * options (named `with(<plugin>).<option>`), nested objects, lists and map values included.
 */
export function undescribed(schema: Node = configJsonSchema()): string[] {
  const missing: string[] = [];
  const walk = (node: Node, path: string) => {
    const own = unwrap(node);
    for (const [key, child] of Object.entries(propertiesOf(node) ?? {})) {
      const at = path ? `${path}.${key}` : key;
      const field = unwrap(child);
      if (typeof field.description !== "string" || field.description.trim() === "") missing.push(at);
      if (key !== "with") walk(child, at);
    }
    for (const form of (own.anyOf as Node[] | undefined) ?? []) walk(form, path);
    const items = own.items as Node | undefined;
    if (items) walk(items, `${path}[]`);
    const values = own.additionalProperties;
    if (typeof values === "object" && values !== null) walk(values as Node, `${path}.*`);
  };
  walk(schema, "");
  for (const [plugin, options] of Object.entries(pluginOptions(schema))) walk(options, `with(${plugin})`);
  return missing;
}

function table(header: string, rows: readonly FieldRow[]): string {
  const cells = rows.map((row) => [
    `\`${row.name}\``,
    row.default,
    (row.description ?? "").replaceAll("|", "\\|"),
  ]);
  const head = [header, "default", "meaning"];
  const widths = head.map((title, i) => Math.max(title.length, ...cells.map((c) => c[i]!.length)));
  const line = (values: readonly string[]) => `| ${values.map((v, i) => v.padEnd(widths[i]!)).join(" | ")} |`;
  return [line(head), `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`, ...cells.map(line)].join("\n");
}

/** The README's config tables, in markdown, from the config's JSON Schema. */
export function configTables(schema: Node = configJsonSchema()): string {
  const props = schema.properties as Record<string, Node>;
  const source = propertiesOf(props.source!)!;
  const actions = unwrap(props.actions!).items as Node;
  const tenant = propertiesOf(unwrap(props.sources!).items as Node)!;
  const { source: _s, actions: _a, ...rest } = props;
  return [
    table("action field", fieldRows(actions)),
    table("source field (`source.auth0.…`)", fieldRows(source.auth0!)),
    table("webhook field", fieldRows(source.webhook!, "source.webhook.")),
    table(
      "tenant field (`sources[].…`, beside `auth0` and `webhook` as above)",
      fieldRows({ properties: { tenant: tenant.tenant!, a0tenant: tenant.a0tenant! } }),
    ),
    table("top-level field", fieldRows({ properties: rest })),
  ].join("\n\n");
}

/** `readme` with its config tables replaced by freshly generated ones. */
export function withConfigTables(readme: string, tables = configTables()): string {
  return between(readme, TABLES_START, TABLES_END, tables);
}

/** Where a first-party plugin's README is in this repository (`plugins/<name>/README.md`); none for others. */
export function pluginReadmePath(plugin: string, repoRoot: string): string | undefined {
  const name = /^@switchyard\/plugin-([a-z0-9-]+)$/.exec(plugin)?.[1];
  return name ? `${repoRoot}/plugins/${name}/README.md` : undefined;
}

/** A plugin's options table, in markdown, from its options' JSON Schema (see `pluginOptions`). */
export function optionsTable(options: Node): string {
  return table("option", fieldRows(options));
}

/** A plugin's `readme` with its options table replaced by a freshly generated one. */
export function withOptionsTable(readme: string, options: Node): string {
  return between(readme, OPTIONS_START, OPTIONS_END, optionsTable(options));
}

function between(text: string, startMarker: string, endMarker: string, content: string): string {
  const start = text.indexOf(startMarker);
  const end = text.indexOf(endMarker);
  if (start < 0 || end < start) throw new Error(`the README has no ${startMarker} … ${endMarker} block`);
  return `${text.slice(0, start + startMarker.length)}\n\n${content}\n\n${text.slice(end)}`;
}
