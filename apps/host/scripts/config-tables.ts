// Rewrite apps/host/README.md's config tables from the config schema's descriptions (src/config/schema.ts).
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { withConfigTables } from "../src/config/config-tables.js";

const readme = fileURLToPath(new URL("../README.md", import.meta.url));
writeFileSync(readme, withConfigTables(readFileSync(readme, "utf8")));
