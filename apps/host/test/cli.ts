import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import { waitFor } from "@switchyard/testing";

const require = createRequire(import.meta.url);
const CLI = fileURLToPath(new URL("../src/cli.ts", import.meta.url));
/** Run the CLI from its TypeScript sources, as `pnpm exec switchyard` runs the build. */
export const NODE_ARGS = [
  "--conditions=@switchyard/source",
  "--import",
  pathToFileURL(require.resolve("tsx")).href,
  CLI,
];

/** The environment a test's config reads its fake tenant from (`${AUTH0_DOMAIN}` and the client's id and secret). */
export function tenantEnv(tenant: {
  url: string;
  clientId: string;
  clientSecret: string;
}): NodeJS.ProcessEnv {
  return {
    AUTH0_DOMAIN: tenant.url,
    AUTH0_CLIENT_ID: tenant.clientId,
    AUTH0_CLIENT_SECRET: tenant.clientSecret,
  };
}

export interface CliProcess {
  child: ChildProcess;
  /** Every stdout line so far. */
  stdout: string[];
  stderr: string[];
  /** Parsed JSON log lines (stdout). */
  logs(): Array<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  waitForLog(message: string | RegExp, timeoutMs?: number): Promise<Record<string, unknown>>;
}

/** Start `switchyard <args>` as a real child process. */
export function startCli(
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd?: string,
  options: { shellPrefix?: string } = {},
): CliProcess {
  // A shell prefix (e.g. `ulimit -f 2000`) applies limits to the host process itself.
  const [command, argv] = options.shellPrefix
    ? ["bash", ["-c", `${options.shellPrefix}; exec "$0" "$@"`, process.execPath, ...NODE_ARGS, ...args]]
    : [process.execPath, [...NODE_ARGS, ...args]];
  const child = spawn(command, argv, {
    env: { ...process.env, ...env },
    cwd,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  const collect = (stream: NodeJS.ReadableStream | null, into: string[]) => {
    let rest = "";
    stream?.on("data", (chunk: Buffer) => {
      const lines = (rest + chunk.toString("utf8")).split("\n");
      rest = lines.pop() ?? "";
      into.push(...lines);
    });
    stream?.on("end", () => {
      if (rest) into.push(rest);
    });
  };
  collect(child.stdout, stdout);
  collect(child.stderr, stderr);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal })),
  );
  const logs = () =>
    stdout.flatMap((line) => {
      if (!line.startsWith("{")) return [];
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  return {
    child,
    stdout,
    stderr,
    logs,
    exited,
    waitForLog: (message, timeoutMs = 20_000) =>
      waitFor(
        () =>
          logs().find((log) =>
            typeof message === "string" ? log.msg === message : message.test(String(log.msg ?? "")),
          ),
        { timeoutMs, message: `log line ${message}; stderr: ${stderr.join("\n")}` },
      ),
  };
}

/** Run `switchyard <args>` to completion. */
export async function runCli(args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string) {
  const cli = startCli(args, env, cwd);
  const { code } = await cli.exited;
  return { code, stdout: cli.stdout.join("\n"), stderr: cli.stderr.join("\n") };
}
