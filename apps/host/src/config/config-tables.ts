import { configJsonSchema } from "./json-schema.js";

// The README's config tables are generated from the config's JSON Schema, whose descriptions come from the
// zod schemas in schema.ts (`.describe(…)`): one text per field, shown by editors and in the README alike.
// `pnpm --filter @switchyard/host docs:config` rewrites the README between the markers below; a test checks
// that it is up to date.

type Node = Record<string, unknown>;

export const TABLES_START =
  "<!-- config-tables: generated from src/config/schema.ts by `pnpm --filter @switchyard/host docs:config`; edit the descriptions there -->";
export const TABLES_END = "<!-- /config-tables -->";

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

/** Every property of the config's own schema (plugins' `with` options aside) that has no description. */
export function undescribed(schema: Node = configJsonSchema()): string[] {
  const missing: string[] = [];
  const walk = (node: Node, path: string) => {
    for (const [key, child] of Object.entries(propertiesOf(node) ?? {})) {
      const at = path ? `${path}.${key}` : key;
      const own = unwrap(child);
      if (typeof own.description !== "string" || own.description.trim() === "") missing.push(at);
      if (key === "with") continue;
      walk(child, at);
      for (const form of (own.anyOf as Node[] | undefined) ?? []) walk(form, at);
      const items = own.items as Node | undefined;
      if (items) walk(items, `${at}[]`);
    }
  };
  walk(schema, "");
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
  const { source: _s, actions: _a, ...rest } = props;
  return [
    table("action field", fieldRows(actions)),
    table("source field (`source.auth0.…`)", fieldRows(source.auth0!)),
    table("webhook field", fieldRows(source.webhook!, "source.webhook.")),
    table("top-level field", fieldRows({ properties: rest })),
  ].join("\n\n");
}

/** `readme` with its config tables replaced by freshly generated ones. */
export function withConfigTables(readme: string, tables = configTables()): string {
  const start = readme.indexOf(TABLES_START);
  const end = readme.indexOf(TABLES_END);
  if (start < 0 || end < start) throw new Error(`the README has no ${TABLES_START} … ${TABLES_END} block`);
  return `${readme.slice(0, start + TABLES_START.length)}\n\n${tables}\n\n${readme.slice(end)}`;
}
