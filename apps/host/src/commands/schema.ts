import type { Command } from "commander";
import { configJsonSchema } from "../config/json-schema.js";
import { firstPartyOptionSchemas } from "../plugins/first-party.js";

/** `switchyard schema`: the config's JSON Schema, for editors and CI. */
export function registerSchema(program: Command): void {
  program
    .command("schema")
    .description(
      "print the config's JSON Schema (for `# yaml-language-server: $schema=…` in switchyard.yaml)",
    )
    .action(async () => {
      const schema = configJsonSchema(await firstPartyOptionSchemas());
      process.stdout.write(`${JSON.stringify(schema, null, 2)}\n`);
    });
}
