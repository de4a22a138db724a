// Rewrite apps/host/README.md's config tables from the config schema's descriptions (src/config/schema.ts),
// and each first-party plugin's options table in its README from its options' descriptions (src/options.ts).
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  configTables,
  pluginOptions,
  pluginReadmePath,
  withConfigTables,
  withOptionsTable,
} from "../src/config/config-tables.js";
import { configJsonSchema } from "../src/config/json-schema.js";
import { firstPartyOptionSchemas } from "../src/plugins/first-party.js";

const schema = configJsonSchema(await firstPartyOptionSchemas());
const readme = fileURLToPath(new URL("../README.md", import.meta.url));
const repoRoot = fileURLToPath(new URL("../../..", import.meta.url));
writeFileSync(readme, withConfigTables(readFileSync(readme, "utf8"), configTables(schema)));
for (const [plugin, options] of Object.entries(pluginOptions(schema))) {
  const file = pluginReadmePath(plugin, repoRoot);
  if (file) writeFileSync(file, withOptionsTable(readFileSync(file, "utf8"), options));
}
