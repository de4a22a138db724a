import { basename } from "node:path";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { type Auth0Event, PermanentError } from "@switchyard/core";
import { loaderFor } from "../plugins/code-loader.js";

// An action's `transform:` runs in a worker thread of its own, never on the host's thread: a transform is
// user code, and a synchronous endless loop on the main thread could not be stopped by any timer (file
// actions run there, and a hanging one only hangs its own attempt because they are asynchronous). In a worker,
// the time budget is enforced by terminating the worker, which stops even `while (true) {}`; the next event
// gets a fresh one. Events go to the worker one at a time (a transform is a small synchronous function: a
// round trip costs tens of microseconds), so that one slow event's budget is its own.

/** How long a transform's module may take to load in its worker (tsx compiles TypeScript on a busy machine). */
const LOAD_BUDGET_MS = 30_000;
/** A transform that allocates without bound is stopped by its worker's heap limit, not the host's. */
const HEAP_MB = 256;

/** A transform failed (threw, returned no event, ran out of time): the delivery is dead-lettered with this. */
export class TransformError extends PermanentError {
  override readonly name = "TransformError";
}

/** What the action does with a transformed event: `null` skips it. */
export type TransformResult = Auth0Event | null;

/** A line the transform printed with `console.*`. */
export type TransformLog = (level: "info" | "warn" | "error" | "debug", text: string) => void;

type FromWorker =
  | { kind: "ready" }
  | { kind: "load-error"; message: string }
  | { kind: "log"; level: "info" | "warn" | "error" | "debug"; text: string }
  | { kind: "done"; event: TransformResult }
  | { kind: "error"; message: string; line: string | undefined };

interface Running {
  worker: Worker;
  /** Settles when the module has loaded (or failed to). */
  ready: Promise<void>;
  /** The call in progress: where its messages go. */
  onMessage: ((message: FromWorker) => void) | undefined;
  /** Why the worker is gone, when it went by itself. */
  onExit: ((code: number) => void) | undefined;
}

/** One action's transform: `run` hands it an event and resolves with the new event, or null to skip it. */
export class EventTransform {
  private running: Running | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;

  /**
   * @param spec the module as the config names it (`./shape.js`), for messages
   * @param file its absolute path
   */
  constructor(
    readonly spec: string,
    readonly file: string,
    readonly timeoutMs: number,
  ) {}

  /** Transform one event, after the events handed over before it. Rejects with a TransformError. */
  run(event: Auth0Event, log?: TransformLog): Promise<TransformResult> {
    const result = this.tail.then(() => this.runNow(event, log));
    this.tail = result.catch(() => {});
    return result;
  }

  /** Load the module and check that it exports a function (config checks); rejects with a TransformError. */
  async check(): Promise<void> {
    await this.start().ready;
  }

  async close(): Promise<void> {
    this.closed = true;
    const running = this.running;
    this.running = undefined;
    if (running) await running.worker.terminate();
  }

  private async runNow(event: Auth0Event, log: TransformLog | undefined): Promise<TransformResult> {
    if (this.closed) throw new TransformError(`transform ${this.spec}: the action was closed`);
    const running = this.start();
    await running.ready;
    return new Promise<TransformResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.stop(running);
        reject(
          new TransformError(
            `transform ${this.spec} did not return within ${this.timeoutMs} ms and was stopped (its budget per event: transform.timeoutMs)`,
          ),
        );
      }, this.timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        running.onMessage = undefined;
        running.onExit = undefined;
      };
      running.onExit = (code) => {
        finish();
        reject(new TransformError(`transform ${this.spec}: its worker stopped (exit code ${code})`));
      };
      running.onMessage = (message) => {
        if (message.kind === "log") {
          log?.(message.level, message.text);
          return;
        }
        finish();
        if (message.kind === "done") resolve(message.event);
        else if (message.kind === "error") {
          const at = message.line ? ` (at ${basename(this.file)}:${message.line})` : "";
          reject(new TransformError(`transform ${this.spec} failed${at}: ${message.message}`));
        }
      };
      try {
        running.worker.postMessage(event);
      } catch (error) {
        finish();
        reject(new TransformError(`transform ${this.spec}: the event could not be sent to it: ${error}`));
      }
    });
  }

  /** The worker, started (and its module loading) if there is none. */
  private start(): Running {
    if (this.running) return this.running;
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        file: this.file,
        url: pathToFileURL(this.file).href,
        loader: loaderFor(this.file),
        tsxCjs: import.meta.resolve("tsx/cjs/api"),
        tsxEsm: import.meta.resolve("tsx/esm/api"),
        spec: this.spec,
      },
      resourceLimits: { maxOldGenerationSizeMb: HEAP_MB },
      stdout: false,
      stderr: false,
    });
    // A host or a command with nothing else to do exits, even while a transform's worker is idle.
    worker.unref();
    let loaded: (() => void) | undefined;
    let failed: ((error: Error) => void) | undefined;
    const ready = new Promise<void>((resolve, reject) => {
      loaded = resolve;
      failed = reject;
    });
    // Nobody may be waiting on it yet (a failure is told to each call that does).
    ready.catch(() => {});
    const loadTimer = setTimeout(() => {
      failed?.(new TransformError(`transform ${this.spec} did not load within ${LOAD_BUDGET_MS} ms`));
      this.stop(running);
    }, LOAD_BUDGET_MS);
    const running: Running = { worker, ready, onMessage: undefined, onExit: undefined };
    worker.on("message", (message: FromWorker) => {
      if (message.kind === "ready") {
        clearTimeout(loadTimer);
        loaded?.();
      } else if (message.kind === "load-error") {
        clearTimeout(loadTimer);
        failed?.(new TransformError(`transform ${this.spec} could not be loaded: ${message.message}`));
      } else running.onMessage?.(message);
    });
    worker.on("error", (error) => {
      // An uncaught error in the worker (a timer the transform left behind, running out of heap).
      running.onMessage?.({ kind: "error", message: String(error?.message ?? error), line: undefined });
    });
    worker.on("exit", (code) => {
      clearTimeout(loadTimer);
      failed?.(
        new TransformError(`transform ${this.spec}: its worker stopped while loading (exit code ${code})`),
      );
      if (this.running === running) this.running = undefined;
      running.onExit?.(code);
    });
    this.running = running;
    return running;
  }

  private stop(running: Running): void {
    if (this.running === running) this.running = undefined;
    running.onExit = undefined;
    void running.worker.terminate();
  }
}

/**
 * The worker: loads the module as the host loads an action file (plugins/code-loader.ts decides how, and
 * passes it in), then transforms each event it is sent. Plain JavaScript run with `eval`, so that it needs no
 * build step or TypeScript loader of its own.
 */
const WORKER_SOURCE = String.raw`
const { parentPort, workerData } = require("node:worker_threads");
const { format } = require("node:util");
const { file, url, loader, tsxCjs, tsxEsm, spec } = workerData;

const LEVELS = { log: "info", info: "info", debug: "debug", warn: "warn", error: "error" };
for (const [method, level] of Object.entries(LEVELS)) {
  console[method] = (...args) => parentPort.postMessage({ kind: "log", level, text: format(...args) });
}

/** The line of the transform's file where the error was thrown (the first frame in it). */
function lineOf(error) {
  const stack = error && typeof error.stack === "string" ? error.stack : "";
  for (const frame of stack.split("\n")) {
    for (const name of [url, file]) {
      const at = frame.indexOf(name);
      if (at < 0) continue;
      const found = /^(?:\?[^:)]*)?:(\d+):\d+/.exec(frame.slice(at + name.length));
      if (found) return found[1];
    }
  }
  return undefined;
}
function describe(error) {
  if (error instanceof Error) return error.name + ": " + error.message;
  try { return "threw " + JSON.stringify(error); } catch { return "threw " + String(error); }
}

function pick(mod) {
  const candidates = [mod && mod.default, mod && mod.transform, mod && mod.default && mod.default.default, mod && mod.default && mod.default.transform, mod];
  return candidates.find((c) => typeof c === "function");
}

async function load() {
  if (loader === "tsx-cjs") return (await import(tsxCjs)).require(file, url);
  if (loader === "tsx-esm") return (await import(tsxEsm)).tsImport(url, url);
  return import(url);
}

load().then(
  (mod) => {
    const transform = pick(mod);
    if (!transform) {
      parentPort.postMessage({ kind: "load-error", message: spec + " exports no function: export default (event) => event (or null to skip it)" });
      return;
    }
    parentPort.on("message", async (event) => {
      let out;
      try {
        out = await transform(event);
      } catch (error) {
        parentPort.postMessage({ kind: "error", message: describe(error), line: lineOf(error) });
        return;
      }
      if (out === undefined) {
        parentPort.postMessage({ kind: "error", message: "it returned nothing: return the event (changed or new), or null to skip it", line: undefined });
      } else if (out !== null && (typeof out !== "object" || Array.isArray(out))) {
        parentPort.postMessage({ kind: "error", message: "it returned " + (Array.isArray(out) ? "an array" : typeof out) + ", not an event object (or null to skip it)", line: undefined });
      } else {
        try {
          parentPort.postMessage({ kind: "done", event: out });
        } catch (error) {
          parentPort.postMessage({ kind: "error", message: "its result cannot be sent as JSON-like data: " + describe(error), line: undefined });
        }
      }
    });
    parentPort.postMessage({ kind: "ready" });
  },
  (error) => {
    const line = lineOf(error);
    parentPort.postMessage({ kind: "load-error", message: describe(error) + (line ? " (at line " + line + ")" : "") });
  },
);
`;
