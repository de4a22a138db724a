import { AsyncLocalStorage } from "node:async_hooks";
import { format, inspect } from "node:util";

/** A level of the host's log. */
export type ConsoleLevel = "debug" | "info" | "warn" | "error";

/** Where the console lines of one attempt go (the runner's attempt api). */
export interface ConsoleSink {
  readonly action: { readonly name: string };
  readonly eventId: string;
  line(level: ConsoleLevel, text: string): void;
}

// Auth0 shows an action's `console.log` output in that action's logs. A file action is Auth0 code that calls
// the global console, so the host routes the global console: inside an attempt (and in every callback that
// attempt starts: timers, emitters, promises) its lines go to the attempt's sink, which logs them as that
// action's lines, redacted; anywhere else the console is what it was. AsyncLocalStorage keeps concurrent
// attempts apart. It is entered only for file actions: the bundled plugins log through `api.log`.

const storage = new AsyncLocalStorage<ConsoleSink>();

/** Which console method logs at which level; `dir` and `table` print one inspected value. */
const METHODS: ReadonlyArray<readonly [keyof Console, ConsoleLevel, "format" | "inspect"]> = [
  ["log", "info", "format"],
  ["info", "info", "format"],
  ["warn", "warn", "format"],
  ["error", "error", "format"],
  ["debug", "debug", "format"],
  ["trace", "debug", "format"],
  ["dir", "info", "inspect"],
  ["table", "info", "inspect"],
];

// Shared by every copy of this module in the process (the CLI's dist and a test's sources), so the console
// is wrapped once.
const INSTALLED = Symbol.for("switchyard.actionConsole");
const registry = globalThis as { [INSTALLED]?: boolean };

/** Wrap the global console's methods once per process; outside an attempt they behave as before. */
export function installActionConsole(): void {
  if (registry[INSTALLED]) return;
  registry[INSTALLED] = true;
  const target = console as unknown as Record<string, (...args: unknown[]) => void>;
  for (const [method, level, how] of METHODS) {
    const original = target[method];
    if (typeof original !== "function") continue;
    target[method] = function (this: unknown, ...args: unknown[]) {
      const sink = storage.getStore();
      if (sink === undefined) return original.apply(this, args);
      sink.line(level, how === "inspect" ? inspect(args[0]) : format(...args));
    };
  }
}

/** Run `body` with the console's lines going to `sink`, as do the callbacks it schedules. */
export function withActionConsole<T>(sink: ConsoleSink, body: () => T): T {
  return storage.run(sink, body);
}

/** The sink of the attempt running now, if any (to attribute an uncaught error to its action). */
export function currentSink(): ConsoleSink | undefined {
  return storage.getStore();
}
