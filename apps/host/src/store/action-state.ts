import type { ActionState } from "./types.js";

/** An `action_states` row, as both engines keep it: (paused, reason, since). */
export interface ActionStateRow {
  paused: boolean;
  reason: string | null;
  since: number | null;
}

// A failed action (the host could not start it) is kept in the same three columns, so that no migration is
// needed: a row that is not paused never had a reason, and its reason is the failure. A failed action that an
// operator pauses is stored as paused; the host writes the failure again when the pause is lifted.

/** The row that stores `state`. */
export function actionStateRow(state: ActionState): ActionStateRow {
  if (state.paused) return { paused: true, reason: state.reason ?? null, since: state.since ?? null };
  return {
    paused: false,
    reason: state.failed ?? null,
    since: state.failed !== undefined ? (state.since ?? null) : null,
  };
}

/** The state a row stores. */
export function actionStateOf(row: ActionStateRow): ActionState {
  if (row.paused) {
    return {
      paused: true,
      ...(row.reason !== null ? { reason: row.reason } : {}),
      ...(row.since !== null ? { since: row.since } : {}),
    };
  }
  if (row.reason === null) return { paused: false };
  return { paused: false, failed: row.reason, ...(row.since !== null ? { since: row.since } : {}) };
}
