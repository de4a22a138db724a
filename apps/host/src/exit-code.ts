import { ConfigError } from "@switchyard/core";
import { CommanderError } from "commander";
import { StateInUseError } from "./lock.js";

/**
 * The CLI's exit code for how a command ended: 0 done (or help and version printed), 2 bad input (a usage
 * error, a broken config, an unknown action, a state folder another host uses), 1 anything else.
 */
export function exitCodeOf(error: unknown): number {
  if (error === undefined) return 0;
  if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
  return error instanceof ConfigError || error instanceof StateInUseError ? 2 : 1;
}
