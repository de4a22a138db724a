import { EVENT_TYPES, isKnownEventType } from "@switchyard/core";
import { PAUSED_EVENT_TYPE } from "../engine/control.js";
import { closest } from "../plugins/load.js";
import type { LoadedConfig } from "./load.js";

/** An exact event type an action subscribes to that this version does not know (a typo, most often). */
export interface UnknownTypeWarning {
  /** `actions[0].events[1]` */
  path: string;
  /** Where it is written (`:line:col`), or "". */
  at: string;
  type: string;
  /** The known type nearest to it, when near enough to be a typo. */
  nearest: string | undefined;
}

/**
 * Exact types in `events` that are not in the catalog. A warning, not an error: Auth0 adds types, and a
 * subscription to one this version does not know yet still works; but `user.creatd` never matches anything.
 */
export function unknownEventTypes(loaded: LoadedConfig): UnknownTypeWarning[] {
  const known = [...EVENT_TYPES];
  const warnings: UnknownTypeWarning[] = [];
  for (const [index, action] of loaded.config.actions.entries()) {
    for (const [i, type] of action.events.entries()) {
      if (type.includes("*") || isKnownEventType(type) || type === PAUSED_EVENT_TYPE) continue;
      warnings.push({
        path: `actions[${index}].events[${i}]`,
        at: loaded.locate?.(["actions", index, "events", i]) ?? "",
        type,
        nearest: closest(type, known),
      });
    }
  }
  return warnings;
}

/** One line per warning, as `validate` prints it and `start` logs it. */
export function describeUnknownType(warning: UnknownTypeWarning): string {
  return `"${warning.type}" is not an event type this version knows: it matches nothing until Auth0 sends it${
    warning.nearest ? ` (did you mean "${warning.nearest}"?)` : ""
  }`;
}
