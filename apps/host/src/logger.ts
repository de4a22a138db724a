import type { Logger } from "@switchyard/core";
import pino from "pino";

export type HostLogger = pino.Logger;

/** JSON logs on stdout (pino); every string that passes through is scrubbed of the config's secrets. */
export function createLogger(
  level: string,
  redact: (text: string) => string,
  destination?: pino.DestinationStream,
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
    destination ?? pino.destination({ fd: 1, sync: false }),
  );
}

/** The `api.log` an action gets: core's Logger over a pino child carrying the action and event id. */
export function actionLogger(log: HostLogger): Logger {
  return {
    debug: (message, fields) => log.debug(fields ?? {}, message),
    info: (message, fields) => log.info(fields ?? {}, message),
    warn: (message, fields) => log.warn(fields ?? {}, message),
    error: (message, fields) => log.error(fields ?? {}, message),
  };
}
