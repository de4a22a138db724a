import { sep } from "node:path";
import { fileURLToPath } from "node:url";
import { describeError } from "@switchyard/core";
import type { HostLogger } from "../logger.js";
import type { Metrics } from "../metrics.js";
import { currentSink } from "./action-console.js";

/** Where an action's code lives: its file, or its plugin package's folder. */
export interface CodeLocation {
  action: string;
  /** A file, or a folder ending with the path separator. */
  path: string;
}

export interface UncaughtDeps {
  log: HostLogger;
  metrics: Metrics;
  redact: (text: string) => string;
  /** The actions' code, to attribute an error by the frames of its stack. */
  locations: readonly CodeLocation[];
}

/**
 * Plugin code can throw where no attempt awaits it: in a timer, an event emitter's listener, a promise it
 * forgot. Node's default is to exit, which would stop every action for one plugin's bug. While the host runs,
 * such an error is attributed to its action where possible (the attempt whose callbacks it came from, else
 * the action whose code is on its stack), logged, counted (`switchyard_uncaught_errors_total`), and the host
 * keeps running. Returns the function that removes the handlers (at stop).
 */
export function guardUncaught(deps: UncaughtDeps): () => void {
  const report = (kind: "exception" | "rejection", error: unknown) => {
    const action = attribute(error, deps.locations);
    deps.metrics.uncaught.labels(action ?? "", kind).inc();
    const err = { message: deps.redact(describeError(error)), stack: stackOf(error, deps.redact) };
    deps.log.error(
      { ...(action !== undefined ? { action } : {}), ...eventOf(), kind, err },
      action !== undefined
        ? `an uncaught ${kind} from the action's code; the host keeps running`
        : `an uncaught ${kind} (not attributed to an action); the host keeps running`,
    );
  };
  const onException = (error: unknown) => report("exception", error);
  const onRejection = (reason: unknown) => report("rejection", reason);
  process.on("uncaughtException", onException);
  process.on("unhandledRejection", onRejection);
  return () => {
    process.off("uncaughtException", onException);
    process.off("unhandledRejection", onRejection);
  };
}

/** The action an error came from: the attempt it was thrown under, else the first frame in an action's code. */
export function attribute(error: unknown, locations: readonly CodeLocation[]): string | undefined {
  const sink = currentSink();
  if (sink) return sink.action.name;
  const stack = (error as { stack?: unknown } | null | undefined)?.stack;
  if (typeof stack !== "string") return undefined;
  for (const line of stack.split("\n")) {
    const file = frameFile(line);
    if (file === undefined) continue;
    const owners = locations.filter((l) =>
      l.path.endsWith(sep) ? file.startsWith(l.path) : file === l.path,
    );
    // Several actions made from one plugin: the frame cannot say which, so it names them all.
    if (owners.length > 0) return [...new Set(owners.map((o) => o.action))].join(",");
  }
  return undefined;
}

/** The file of one stack frame (`at f (/a/b.js:1:2)`, `at /a/b.js:1:2`, `file:///a/b.mjs:1:2`). */
function frameFile(line: string): string | undefined {
  const match = /\(?((?:file:\/\/)?\/[^():]+):\d+:\d+\)?\s*$/.exec(line.trim());
  if (!match) return undefined;
  const path = match[1]!;
  return path.startsWith("file://") ? fileURLToPath(path) : path;
}

function eventOf(): { eventId?: string } {
  const sink = currentSink();
  return sink ? { eventId: sink.eventId } : {};
}

function stackOf(error: unknown, redact: (text: string) => string): string | undefined {
  const stack = (error as { stack?: unknown } | null | undefined)?.stack;
  return typeof stack === "string" ? redact(stack) : undefined;
}
