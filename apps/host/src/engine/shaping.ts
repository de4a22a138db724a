import { resolve } from "node:path";
import {
  type Action,
  type Auth0Event,
  compileRedaction,
  type EventStreamApi,
  type EventStreamEvent,
  encodedEvent,
  type Outcome,
  PermanentError,
} from "@switchyard/core";
import type { ActionConfig } from "../config/schema.js";
import { EventTransform } from "./transform.js";

// What an action's `transform:` and `redact:` do to an event before the action sees it, as a wrapper around
// the action: the runner runs the wrapped action as any other, so an attempt's time budget, its console lines
// and its outcome cover the transform too. Order: the transform first (it may need a field that is then
// removed, e.g. to derive a domain from an email), then the redaction, so that what the action receives
// never holds a redacted field, whatever the transform returned.

/** The event was skipped by the action's transform (it returned null): done, recorded as `filtered`. */
export class FilteredOut extends PermanentError {
  override readonly name = "FilteredOut";
  constructor(readonly transform: string) {
    super(`filtered by transform ${transform} (it returned null)`);
  }
}

/** When an attempt's outcome is an event its transform skipped: why, for the attempt's record. */
export function filteredBy(outcome: Outcome): string | undefined {
  return outcome.status === "permanent" && outcome.error instanceof FilteredOut ? outcome.message : undefined;
}

/** The transform of an action's config, not started (its worker starts with the first event). */
export function transformOf(config: ActionConfig, configDir: string): EventTransform | undefined {
  const spec = config.transform;
  if (spec === undefined) return undefined;
  return new EventTransform(spec.module, resolve(configDir, spec.module), spec.timeoutMs);
}

/**
 * `action` with its config's `transform` and `redact` applied to each event before it runs; `action` itself
 * when the config has neither. Closing it stops the transform's worker. The event it is handed is never
 * changed: the redaction copies what it changes, and the transform works on its own copy in its worker.
 */
export function shapeAction(action: Action, config: ActionConfig, configDir: string): Action {
  const transform = transformOf(config, configDir);
  const redact = config.redact.length > 0 ? compileRedaction(config.redact) : undefined;
  if (transform === undefined && redact === undefined) return action;
  const shaped: Action = {
    async onExecuteEventStream(event: EventStreamEvent, api: EventStreamApi) {
      let message: Auth0Event = event.message;
      if (transform) {
        const result = await transform.run(message, (level, text) =>
          api.log[level](`[transform ${transform.spec}] ${text}`),
        );
        if (result === null) throw new FilteredOut(transform.spec);
        message = result;
      }
      if (redact) message = redact(message);
      // The stored JSON (`encoded`) is what an HTTP action sends as is: once the event changed, it is that.
      const shapedEvent =
        message === event.message
          ? event
          : { ...event, message, encoded: encodedEvent(JSON.stringify(message)) };
      return action.onExecuteEventStream(shapedEvent, api);
    },
    async close() {
      await Promise.all([transform?.close(), action.close?.()]);
    },
  };
  return shaped;
}
