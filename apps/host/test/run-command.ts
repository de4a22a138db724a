import { Command, CommanderError } from "commander";

/** What a command printed, and the error it ended with (a CommanderError for usage errors). */
export interface CommandRun {
  stdout: string;
  stderr: string;
  error: unknown;
}

/**
 * Run a CLI command in this process, as `switchyard <args>` would (the real commander program and command
 * code, without the cost of a process start). Usage errors come back as a CommanderError with its exit code.
 */
export async function runCommand(register: (program: Command) => void, args: string[]): Promise<CommandRun> {
  let stdout = "";
  let stderr = "";
  const program = new Command("switchyard").exitOverride().configureOutput({
    writeOut: (text) => {
      stdout += text;
    },
    writeErr: (text) => {
      stderr += text;
    },
  });
  register(program);
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  }) as typeof process.stdout.write;
  try {
    await program.parseAsync(args, { from: "user" });
    return { stdout, stderr, error: undefined };
  } catch (error) {
    return { stdout, stderr: stderr || (error instanceof Error ? error.message : String(error)), error };
  } finally {
    process.stdout.write = write;
  }
}

export { CommanderError };
