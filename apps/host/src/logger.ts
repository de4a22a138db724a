import type { Logger } from "@switchyard/core";
import pino from "pino";

export type HostLogger = pino.Logger;

/** JSON logs on stdout (pino); every string that passes through is scrubbed of the config's secrets. */
export function createLogger(
  level: string,
  redact: (text: string) => string,
  destination?: pino.DestinationStream,
  format: "json" | "pretty" = "json",
): HostLogger {
  const scrub = (value: unknown, depth = 0): unknown => {
    if (typeof value === "string") return redact(value);
    if (depth > 5 || value === null || typeof value !== "object") return value;
    if (value instanceof Error)
      return { type: value.name, message: redact(value.message), stack: redact(value.stack ?? "") };
    if (Array.isArray(value)) return value.map((item) => scrub(item, depth + 1));
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrub(v, depth + 1)]));
  };
  return pino(
    {
      level,
      base: { app: "switchyard" },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        log: (object) => scrub(object) as Record<string, unknown>,
      },
      hooks: {
        logMethod(args, method) {
          const scrubbed = args.map((arg) => (typeof arg === "string" ? redact(arg) : arg));
          method.apply(this, scrubbed as Parameters<typeof method>);
        },
      },
    },
    destination ?? (format === "pretty" ? prettyStdout() : pino.destination({ fd: 1, sync: false })),
  );
}

const LEVEL_COLOURS: Record<string, string> = {
  fatal: "35",
  error: "31",
  warn: "33",
  info: "36",
  debug: "90",
  trace: "90",
};
const HIDDEN = new Set(["level", "time", "app", "msg"]);

/** Human-readable lines for the demo and for terminals: `12:00:01 info  message  key=value …`. */
function prettyStdout(): pino.DestinationStream {
  const colour = process.stdout.isTTY;
  return {
    write(line: string) {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        process.stdout.write(line);
        return;
      }
      const level = String(entry.level ?? "info");
      const time = String(entry.time ?? "").slice(11, 19);
      const fields = Object.entries(entry)
        .filter(([key]) => !HIDDEN.has(key))
        .map(([key, value]) => `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`)
        .join(" ");
      const tag = colour ? `\x1b[${LEVEL_COLOURS[level] ?? "0"}m${level.padEnd(5)}\x1b[0m` : level.padEnd(5);
      process.stdout.write(`${time} ${tag} ${String(entry.msg ?? "")}${fields ? `  ${fields}` : ""}\n`);
    },
  };
}

/**
 * The `api.log` an action gets: core's Logger over a pino child carrying the action, event id and attempt.
 * The child is made on the first line logged at an enabled level: most attempts log nothing, and a child
 * per attempt would cost a tenth of the delivery path. One small object per attempt; each method is made
 * when it is looked up, so that `const { info } = api.log` works too (the HTTP plugin logs every delivery at
 * debug, usually off, and four closures per attempt showed in the allocation profile).
 */
export function actionLogger(log: HostLogger, bindings: () => Record<string, unknown>): Logger {
  return new ActionLog(log, bindings);
}

type LogMethod = Logger["info"];

class ActionLog implements Logger {
  #child: HostLogger | undefined;
  readonly #log: HostLogger;
  /** Read only when the first line is logged. */
  readonly #bindings: () => Record<string, unknown>;

  constructor(log: HostLogger, bindings: () => Record<string, unknown>) {
    this.#log = log;
    this.#bindings = bindings;
  }

  get debug(): LogMethod {
    return this.#at("debug");
  }
  get info(): LogMethod {
    return this.#at("info");
  }
  get warn(): LogMethod {
    return this.#at("warn");
  }
  get error(): LogMethod {
    return this.#at("error");
  }

  #at(level: Level): LogMethod {
    if (!this.#log.isLevelEnabled(level)) return ignore;
    return (message, fields) => {
      this.#child ??= this.#log.child(this.#bindings());
      this.#child[level](fields ?? {}, message);
    };
  }
}

const ignore: LogMethod = () => {};

type Level = "debug" | "info" | "warn" | "error";
