import type { ActionCache } from "./cache.js";
import type { EncodedEvent } from "./encoded.js";
import { ConfigError, type ConfigIssue, errorPrefix } from "./errors.js";
import type { Auth0Event } from "./events.js";
import type { StandardSchemaV1 } from "./standard-schema.js";

/** Structured log lines; the host adds the action name and the event id to each. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** The first argument of `onExecuteEventStream`, as in Auth0 Event Stream Actions. */
export interface EventStreamEvent<E extends Auth0Event = Auth0Event> {
  /** The CloudEvent. */
  message: E;
  /** The action's secrets, from its config. */
  secrets: Readonly<Record<string, string>>;
  /**
   * The message as JSON, encoded once for every action that sends it; absent when the host has none.
   * Send `encoded?.bytes ?? Buffer.from(JSON.stringify(message))` rather than serialising the message again.
   */
  encoded?: EncodedEvent;
}

/** Auth0's `api.message`: what an action says about the message it handles. */
export interface MessageApi {
  /**
   * Mark this attempt failed, to be retried, with `reason` as its error: whether the function then returns
   * or throws (Auth0's actions call it in their `catch` and return).
   */
  fail(reason?: string): void;
}

/** The second argument of `onExecuteEventStream`: Auth0's `api.cache` and `api.message`, plus what the host provides. */
export interface EventStreamApi {
  cache: ActionCache;
  message: MessageApi;
  log: Logger;
  /** Aborted when the delivery's time budget runs out or the host shuts down: pass it to your I/O. */
  signal: AbortSignal;
  /** 1 for the first try, 2 for the first retry, … */
  attempt: number;
  /** The name of the configured action running this delivery. */
  action: { name: string };
  /**
   * This attempt's W3C trace context, when the host exports traces: send it with the delivery (`traceparent`
   * and `tracestate` headers, or message headers) so the receiver's trace continues the attempt's span.
   */
  trace?: TraceContext | undefined;
}

/** A W3C Trace Context (https://www.w3.org/TR/trace-context/), as the strings its headers carry. */
export interface TraceContext {
  traceparent: string;
  tracestate?: string | undefined;
}

/**
 * What an action may resolve to once it delivered: the destination's HTTP status, which the host records with
 * the delivered attempt (failures carry theirs on the error). Returning nothing, as Auth0's actions do, is fine.
 */
export interface DeliveryReceipt {
  status?: number | undefined;
}

/** The HTTP status of a value an action resolved to, when it is a `DeliveryReceipt` with a valid one. */
export function receiptStatus(value: unknown): number | undefined {
  const status = (value as DeliveryReceipt | null | undefined)?.status;
  return typeof status === "number" && Number.isInteger(status) && status >= 100 && status <= 599
    ? status
    : undefined;
}

/**
 * An action: what runs for each event it is subscribed to. Returning means delivered (optionally with a
 * `DeliveryReceipt`); throwing means failed (a `PermanentError` goes straight to the dead letters, anything
 * else is retried).
 */
export interface Action {
  onExecuteEventStream(event: EventStreamEvent, api: EventStreamApi): unknown;
  /** Release connections, flush buffers. Called once when the host stops. */
  close?(): void | Promise<void>;
}

/** What a plugin package default-exports: a factory with the schema of its options. */
export interface PluginFactory<Input = unknown> {
  (options: Input): Action;
  readonly pluginName: string;
  readonly optionsSchema: StandardSchemaV1<Input>;
}

/**
 * Define a plugin: `create` gets options already checked against `options` (any Standard Schema, e.g. zod),
 * and bad options throw a `ConfigError` like `[switchyard] [slack] missing option "token"` (see `errorPrefix`).
 */
export function definePlugin<Schema extends StandardSchemaV1>(definition: {
  name: string;
  options: Schema;
  create: (options: StandardSchemaV1.InferOutput<Schema>) => Action;
}): PluginFactory<StandardSchemaV1.InferInput<Schema>> {
  const factory = (input: StandardSchemaV1.InferInput<Schema>) =>
    definition.create(validateOptions(definition.name, definition.options, input));
  return Object.assign(factory, { pluginName: definition.name, optionsSchema: definition.options });
}

/** Check plugin options against a Standard Schema; throws a `ConfigError` naming every bad option. */
export function validateOptions<Schema extends StandardSchemaV1>(
  pluginName: string,
  schema: Schema,
  input: unknown,
): StandardSchemaV1.InferOutput<Schema> {
  const result = schema["~standard"].validate(input ?? {});
  if (result instanceof Promise) {
    throw new TypeError(`${errorPrefix(pluginName)} options schemas must validate synchronously`);
  }
  if (!result.issues) return result.value as StandardSchemaV1.InferOutput<Schema>;
  const issues = result.issues.map(toConfigIssue);
  const text = issues.map(describeIssue).join("; ");
  throw new ConfigError(`${errorPrefix(pluginName)} ${text}`, issues);
}

function toConfigIssue(issue: StandardSchemaV1.Issue): ConfigIssue {
  const path = (issue.path ?? [])
    .map((segment) => String(typeof segment === "object" ? segment.key : segment))
    .join(".");
  return { path, message: issue.message };
}

function describeIssue(issue: ConfigIssue): string {
  if (!issue.path) return issue.message;
  return missingOption(issue) ?? `option "${issue.path}": ${issue.message}`;
}

/**
 * `missing option "token"` when the issue is an option left out, else undefined: the one wording for it in
 * a plugin's own error, `validate`, `start` and `run-action`.
 */
export function missingOption(issue: ConfigIssue): string | undefined {
  return issue.path && /received undefined/i.test(issue.message)
    ? `missing option "${issue.path}"`
    : undefined;
}

/** True when `value` looks like an Action (it has `onExecuteEventStream`). */
export function isAction(value: unknown): value is Action {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { onExecuteEventStream?: unknown }).onExecuteEventStream === "function"
  );
}
