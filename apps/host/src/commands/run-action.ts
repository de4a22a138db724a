import { existsSync, readFileSync } from "node:fs";
import { basename, dirname, extname, resolve } from "node:path";
import { format } from "node:util";
import {
  type Action,
  type Auth0Event,
  ConfigError,
  compileFilter,
  compileRedaction,
  describeError,
  EVENT_TYPES,
  type EventFilter,
  isKnownEventType,
  parseCloudEvent,
  parseStreamMessage,
  redactPathError,
  TimeoutError,
  validateFilter,
  validateOptions,
} from "@switchyard/core";
import { type CapturedLog, createEventFactory, runAction } from "@switchyard/testing";
import { type Command, InvalidArgumentError } from "commander";
import { DEFAULT_TRANSFORM_TIMEOUT_MS, type SwitchyardConfig } from "../config/schema.js";
import { collectSecrets, createRedactor, redactConfig } from "../config/secrets.js";
import { EventTransform, TransformError } from "../engine/transform.js";
import { isPathSpec, resolvePlugin } from "../plugins/load.js";

const PREFIX = "[switchyard] run-action:";
/** Auth0 gives an Event Stream Action about 10 s. */
const DEFAULT_TIMEOUT_MS = 10_000;
/** A hanging action's close() must not keep the command from exiting. */
const CLOSE_GRACE_MS = 2_000;

export interface RunActionCommandOptions {
  /** An exact event type (a realistic one is generated) or a JSON file. */
  event: string;
  /** `KEY=VALUE` pairs for `event.secrets`. */
  secret?: string[];
  /** The plugin's options, as JSON. */
  with?: string;
  timeout?: number;
  attempt?: number;
  /** An action's `filter`, as JSON: an event it rejects is reported as filtered out, and the action not run. */
  filter?: string;
  /** An exact event type for the generated sample event (the same as `--event <type>`). */
  type?: string;
  /** A transform module (`transform:`), run on the event before the action, in its worker as the host runs it. */
  transform?: string;
  /** The transform's time budget (`transform.timeoutMs`). */
  transformTimeout?: number;
  /** Field paths removed before the action sees the event (`redact:`), after the transform. */
  redact?: string[];
  /** Resolve the plugin from this config file's folder rather than the cwd. */
  config?: string;
  json?: boolean;
}

/** A line the action wrote with `console.*`. */
export interface ConsoleLine {
  level: CapturedLog["level"];
  message: string;
}

/** What `run-action` shows, secrets already redacted. */
export interface ActionReport {
  action: string;
  event: { type: string; id: string; source: string };
  /**
   * `filtered`: the `--filter` rejected the event, or the `--transform` returned null for it, so the host would
   * not deliver it; the action did not run.
   */
  status: "delivered" | "retryable" | "permanent" | "filtered";
  /** With `--transform` or `--redact`: the event the action was given (null: the transform skipped it). */
  shaped?: unknown;
  durationMs: number;
  message?: string;
  retryAfterMs?: number;
  /** The first frames of the thrown error's stack, when it was not a time-out. */
  stack?: string[];
  /** Lines from `api.log`. */
  logs: CapturedLog[];
  /** Lines from `console.*` while the action ran. */
  console: ConsoleLine[];
}

/** `KEY=VALUE` pairs into `event.secrets`; errors never echo a value. */
export function parseSecrets(pairs: readonly string[] = []): Record<string, string> {
  const secrets: Record<string, string> = {};
  pairs.forEach((pair, index) => {
    const at = pair.indexOf("=");
    const key = at > 0 ? pair.slice(0, at) : "";
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      throw new ConfigError(`${PREFIX} --secret #${index + 1} must be KEY=VALUE with KEY like API_KEY`);
    }
    secrets[key] = pair.slice(at + 1);
  });
  return secrets;
}

/** The event to run on: a realistic one of an exact type, or a JSON file (a CloudEvent or `{offset, event}`). */
export function loadEvent(spec: string, cwd: string): { event: Auth0Event; source: string } {
  if (isKnownEventType(spec)) {
    // A fresh seed: each run gets new ids, as real events would.
    const factory = createEventFactory({
      seed: Date.now() % 2_147_483_647,
      start: new Date(Date.now() - 1_000),
    });
    return { event: factory.event(spec as string), source: "generated" };
  }
  const file = resolve(cwd, spec);
  if (!spec.endsWith(".json") && !existsSync(file)) {
    throw new ConfigError(
      `${PREFIX} unknown event type "${spec}": give a JSON file or one of ${EVENT_TYPES.join(", ")}`,
    );
  }
  if (!existsSync(file)) throw new ConfigError(`${PREFIX} event file not found: ${file}`);
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new ConfigError(`${PREFIX} ${file}: not JSON (${(error as Error).message})`);
  }
  const isMessage =
    typeof value === "object" && value !== null && "event" in value && !("specversion" in value);
  if (isMessage) {
    const parsed = parseStreamMessage(value);
    if (!parsed.ok)
      throw new ConfigError(`${PREFIX} ${file}: invalid stream message: ${parsed.error.message}`);
    if (parsed.value.kind !== "event")
      throw new ConfigError(`${PREFIX} ${file}: the stream message has no event`);
    return { event: parsed.value.event, source: spec };
  }
  const parsed = parseCloudEvent(value);
  if (!parsed.ok) throw new ConfigError(`${PREFIX} ${file}: invalid event: ${parsed.error.message}`);
  return { event: parsed.value, source: spec };
}

/** Load `spec` like the host does and build its action; a plugin gets `options`, checked against its schema. */
export async function loadAction(
  spec: string,
  baseDir: string,
  options: Record<string, unknown> | undefined,
): Promise<{ action: Action; name: string }> {
  let plugin: Awaited<ReturnType<typeof resolvePlugin>>;
  try {
    plugin = await resolvePlugin(spec, baseDir);
  } catch (error) {
    throw new ConfigError(`${PREFIX} cannot load "${spec}": ${describeError(error)}`);
  }
  if (plugin.kind === "broken") throw new ConfigError(`${PREFIX} cannot load "${spec}": ${plugin.reason}`);
  const name = isPathSpec(spec) ? basename(spec, extname(spec)) : plugin.name;
  if (plugin.kind === "file") {
    if (options !== undefined) {
      throw new ConfigError(`${PREFIX} --with is for plugins; "${spec}" is an action file: use --secret`);
    }
    return { action: plugin.action, name };
  }
  if (plugin.schema) validateOptions(plugin.name, plugin.schema, options ?? {});
  return { action: plugin.create(options ?? {}), name };
}

/** Run `spec` once on one event, like the host's first attempt, and report what happened. */
export async function runActionOnce(
  spec: string,
  options: RunActionCommandOptions,
  cwd = process.cwd(),
): Promise<ActionReport> {
  const secrets = parseSecrets(options.secret);
  const pluginOptions = options.with === undefined ? undefined : parseWith(options.with);
  // The host's own rule for what to hide: the secrets, and option values under secret-sounding keys.
  const redact = createRedactor(
    collectSecrets(
      {
        source: { auth0: {} },
        actions: [{ secrets, with: pluginOptions ?? {} }],
      } as unknown as SwitchyardConfig,
      new Map(),
    ),
  );
  const baseDir = options.config ? dirname(resolve(cwd, options.config)) : cwd;
  if (options.type !== undefined && !isKnownEventType(options.type)) {
    throw new ConfigError(
      `${PREFIX} unknown event type "${options.type}": use one of ${EVENT_TYPES.join(", ")}`,
    );
  }
  const { event, source } = loadEvent(options.type ?? options.event, cwd);
  const filter = options.filter === undefined ? undefined : parseFilter(options.filter);
  const rejected = filter?.explain(event);
  if (rejected !== undefined) {
    const report: ActionReport = {
      action: spec,
      event: { type: event.type, id: event.id, source },
      status: "filtered",
      durationMs: 0,
      message: `filtered out by --filter: ${rejected}`,
      logs: [],
      console: [],
    };
    return redactConfig(report, redact);
  }
  const shaping = await shapeEvent(event, options, baseDir);
  if (shaping !== undefined && !("event" in shaping)) {
    return redactConfig(
      {
        action: spec,
        event: { type: event.type, id: event.id, source },
        durationMs: 0,
        logs: [],
        ...shaping,
      },
      redact,
    );
  }
  const shaped = shaping?.event ?? event;
  let loaded: Awaited<ReturnType<typeof loadAction>>;
  try {
    loaded = await loadAction(spec, baseDir, pluginOptions);
  } catch (error) {
    const message = error instanceof Error ? error.message : describeError(error);
    throw new ConfigError(redact(message));
  }

  const captured = captureConsole();
  let result: Awaited<ReturnType<typeof runAction>>;
  try {
    result = await runAction(loaded.action, shaped, {
      secrets,
      timeoutMs: options.timeout ?? DEFAULT_TIMEOUT_MS,
      attempt: options.attempt ?? 1,
      name: loaded.name,
    });
  } finally {
    captured.restore();
  }
  await closeAction(loaded.action);

  const stack = stackFrames(result.error);
  const report: ActionReport = {
    action: spec,
    event: { type: event.type, id: event.id, source },
    status: result.status,
    durationMs: Math.round(result.durationMs),
    ...(result.message === undefined ? {} : { message: result.message }),
    ...(result.retryAfterMs === undefined ? {} : { retryAfterMs: result.retryAfterMs }),
    ...(stack.length === 0 ? {} : { stack }),
    ...(shaping ? { shaped } : {}),
    logs: result.logs,
    console: [...(shaping?.console ?? []), ...captured.lines],
  };
  return redactConfig(report, redact);
}

/**
 * `--transform` then `--redact`, as the host applies an action's `transform` and `redact`: the event the action
 * gets, or the report when the transform skipped the event or failed. Undefined without either option.
 */
async function shapeEvent(
  event: Auth0Event,
  options: RunActionCommandOptions,
  baseDir: string,
): Promise<
  | { event: Auth0Event; console: ConsoleLine[] }
  | Pick<ActionReport, "status" | "message" | "shaped" | "console">
  | undefined
> {
  const paths = options.redact ?? [];
  if (options.transform === undefined && paths.length === 0) return undefined;
  for (const path of paths) {
    const problem = redactPathError(path);
    if (problem) throw new ConfigError(`${PREFIX} --redact: ${problem}`);
  }
  const lines: ConsoleLine[] = [];
  let shaped: Auth0Event | null = event;
  if (options.transform !== undefined) {
    const file = resolve(baseDir, options.transform);
    if (!existsSync(file)) throw new ConfigError(`${PREFIX} --transform: file not found: ${file}`);
    const transform = new EventTransform(
      options.transform,
      file,
      options.transformTimeout ?? DEFAULT_TRANSFORM_TIMEOUT_MS,
    );
    try {
      shaped = await transform.run(event, (level, message) => lines.push({ level, message }));
    } catch (error) {
      const message = error instanceof TransformError ? error.message : describeError(error);
      return { status: "permanent", message, console: lines };
    } finally {
      await transform.close();
    }
    if (shaped === null) {
      return {
        status: "filtered",
        message: `filtered by transform ${options.transform} (it returned null)`,
        shaped: null,
        console: lines,
      };
    }
  }
  return { event: paths.length > 0 ? compileRedaction(paths)(shaped) : shaped, console: lines };
}

function parseFilter(text: string): ReturnType<typeof compileFilter> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ConfigError(`${PREFIX} --filter is not valid JSON`);
  }
  const issues = validateFilter(value);
  if (issues.length > 0) {
    const list = issues.map((i) => `${i.path.length ? `${i.path.join(".")}: ` : ""}${i.message}`);
    throw new ConfigError(`${PREFIX} invalid --filter: ${list.join("; ")}`);
  }
  return compileFilter(value as EventFilter);
}

function parseWith(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // JSON.parse's message quotes the input, which may hold a secret.
    throw new ConfigError(`${PREFIX} --with is not valid JSON`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigError(`${PREFIX} --with must be a JSON object, e.g. '{"url":"https://example.com/"}'`);
  }
  return value as Record<string, unknown>;
}

const CONSOLE_LEVELS = { log: "info", info: "info", debug: "debug", warn: "warn", error: "error" } as const;

/** Keep what the action prints with `console.*` while it runs, to show it with the outcome. */
function captureConsole(): { lines: ConsoleLine[]; restore(): void } {
  const lines: ConsoleLine[] = [];
  const saved = new Map<keyof typeof CONSOLE_LEVELS, (...args: unknown[]) => void>();
  for (const [method, level] of Object.entries(CONSOLE_LEVELS) as Array<
    [keyof typeof CONSOLE_LEVELS, CapturedLog["level"]]
  >) {
    saved.set(method, console[method]);
    console[method] = (...args: unknown[]) => {
      lines.push({ level, message: format(...args) });
    };
  }
  return {
    lines,
    restore() {
      for (const [method, original] of saved) console[method] = original;
    },
  };
}

async function closeAction(action: Action): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      Promise.resolve().then(() => action.close?.()),
      new Promise((done) => {
        timer = setTimeout(done, CLOSE_GRACE_MS);
      }),
    ]);
  } catch {
    // A failing close() does not change the outcome of the run.
  } finally {
    clearTimeout(timer);
  }
}

/** Where the host's code starts calling the action: frames from here on are not the action's. */
const CALLER_FRAME = /[\\/]core[\\/](src|dist)[\\/]execute\.[jt]s/;

function stackFrames(error: unknown): string[] {
  if (!(error instanceof Error) || error instanceof TimeoutError || !error.stack) return [];
  const frames: string[] = [];
  for (const line of error.stack.split("\n")) {
    if (!/^\s+at /.test(line)) continue;
    if (CALLER_FRAME.test(line) || frames.length === 3) break;
    if (!line.includes("node:internal")) frames.push(line.trim());
  }
  return frames;
}

const EXPLAIN = {
  delivered: "",
  retryable: " (the host would retry it, and dead-letter it after the last attempt)",
  permanent: " (the host would dead-letter it without retrying)",
  filtered: " (the host would not deliver it to this action; the action did not run)",
  transform: " (the host would dead-letter it without running the action)",
} as const;

/** The report for people. */
export function formatReport(report: ActionReport): string {
  const lines = [
    `action:   ${report.action}`,
    `event:    ${report.event.type} ${report.event.id} (${report.event.source})`,
    report.status === "filtered"
      ? `outcome:  filtered${EXPLAIN.filtered}`
      : report.message?.startsWith("transform ") && report.status === "permanent"
        ? `outcome:  permanent${EXPLAIN.transform}`
        : `outcome:  ${report.status} in ${report.durationMs} ms${EXPLAIN[report.status]}`,
  ];
  const label = report.status === "filtered" ? "reason:  " : "error:   ";
  if (report.message !== undefined) lines.push(`${label} ${report.message}`);
  for (const frame of report.stack ?? []) lines.push(`            ${frame}`);
  if (report.retryAfterMs !== undefined)
    lines.push(`retry in: ${report.retryAfterMs} ms (asked by the action)`);
  if (report.message?.startsWith("TimeoutError")) {
    lines.push("hint:     pass api.signal to your I/O so the action stops at its deadline");
  }
  const fields = (value: Record<string, unknown> | undefined) => (value ? ` ${JSON.stringify(value)}` : "");
  if (report.shaped !== undefined && report.shaped !== null) {
    lines.push("shaped:   the event the action got (after --transform, then --redact):");
    for (const line of JSON.stringify(report.shaped, null, 2).split("\n")) lines.push(`  ${line}`);
  }
  if (report.logs.length > 0) lines.push("api.log:");
  for (const log of report.logs) lines.push(`  ${log.level.padEnd(5)} ${log.message}${fields(log.fields)}`);
  if (report.console.length > 0) lines.push("console:");
  for (const line of report.console) lines.push(`  ${line.level.padEnd(5)} ${line.message}`);
  return `${lines.join("\n")}\n`;
}

function positiveInt(max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > max)
      throw new InvalidArgumentError(`give an integer from 1 to ${max}`);
    return n;
  };
}

/** `switchyard run-action <file-or-package> --event <type|file.json> …`. */
export function registerRunAction(program: Command): void {
  program
    .command("run-action")
    .description("run one action once on a realistic or given event, locally, and show the outcome")
    .argument(
      "<file-or-package>",
      "an action file (Auth0's onExecuteEventStream or a plugin factory) or a package",
    )
    .option(
      "-e, --event <type|file.json>",
      "an event type (a realistic event is generated) or a JSON file",
      "user.created",
    )
    .option(
      "-s, --secret <KEY=VALUE>",
      "a secret for event.secrets (repeatable)",
      (v: string, all: string[]) => [...all, v],
      [],
    )
    .option("-w, --with <json>", "the plugin's options, as JSON")
    .option("-f, --filter <json>", "the action's filter, as JSON: say so when it rejects the event")
    .option("-t, --timeout <ms>", "the attempt's time budget", positiveInt(15 * 60_000), DEFAULT_TIMEOUT_MS)
    .option("--attempt <n>", "api.attempt (2 = the first retry)", positiveInt(1_000), 1)
    .option("--type <type>", "the event type of the generated sample event (like --event <type>)")
    .option(
      "--transform <file>",
      "a transform module (an action's `transform`): run it on the event first and show what it returns",
    )
    .option(
      "--transform-timeout <ms>",
      "the transform's time budget",
      positiveInt(60_000),
      DEFAULT_TRANSFORM_TIMEOUT_MS,
    )
    .option(
      "--redact <path>",
      "a field path to remove before the action sees the event (an action's `redact`; repeatable)",
      (v: string, all: string[]) => [...all, v],
      [],
    )
    .option("-c, --config <file>", "resolve the action and the transform from this config file's folder")
    .option("--json", "print the outcome as JSON")
    .action(async (spec: string, options: RunActionCommandOptions) => {
      const report = await runActionOnce(spec, options);
      process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
      // An action that hangs may hold timers or sockets open: the outcome is known, so leave now.
      process.exit(report.status === "delivered" || report.status === "filtered" ? 0 : 1);
    });
}
