import { ConfigError } from "@switchyard/core";
import { CommanderError } from "commander";

/**
 * The CLI's exit code for how a command ended: 0 done (or help and version printed), 2 bad input (a usage
 * error, a broken config, an unknown action), 1 anything else.
 */
export function exitCodeOf(error: unknown): number {
  if (error === undefined) return 0;
  if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
  return error instanceof ConfigError ? 2 : 1;
}
