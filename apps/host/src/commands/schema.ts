import type { Command } from "commander";
import { configJsonSchema } from "../config/json-schema.js";

/** `switchyard schema`: the config's JSON Schema, for editors and CI. */
export function registerSchema(program: Command): void {
  program
    .command("schema")
    .description(
      "print the config's JSON Schema (for `# yaml-language-server: $schema=…` in switchyard.yaml)",
    )
    .action(() => {
      process.stdout.write(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
    });
}
