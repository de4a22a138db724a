// Rows as both SQL engines read them, and what the contract makes of them. Postgres returns bigints as
// strings; SQLite returns numbers: each field is taken with Number().
import { DEFAULT_TENANT } from "../tenants.js";
import type { ClaimedDelivery, DeadLetter } from "./types.js";

/** A dead letter's row: its delivery (`d`) joined to its event (`e`). */
export interface DeadLetterRow {
  event: number | string;
  tenant: string;
  event_id: string;
  type: string;
  time: string;
  attempts: number;
  last_error: string | null;
  updated_at: number | string;
}

/** The columns of a `DeadLetterRow`, after the action's. */
export const DEAD_LETTER_COLUMNS =
  "d.event, e.tenant, e.event_id, e.type, e.time, d.attempts, d.last_error, d.updated_at";

/** A dead letter of `action` (its name) from its row. */
export function deadLetterOf(action: string, row: DeadLetterRow): DeadLetter {
  return {
    action,
    tenant: row.tenant,
    eventId: row.event_id,
    eventType: row.type,
    attempts: row.attempts,
    lastError: row.last_error ?? "",
    failedAt: new Date(Number(row.updated_at)).toISOString(),
    eventTime: row.time,
    key: Number(row.event),
  };
}

/** A claimed row of a delivery, with its event's tenant, payload and trace. */
export interface ClaimedRow {
  event: number | string;
  tenant: string;
  attempts: number;
  attempts_before: number;
  payload: string | null;
  trace: string | null;
}

/**
 * The delivery a claim hands to `action`'s runner; none for a row whose event lost its payload (it is only
 * dropped once no delivery needs it: a guard, rather than deliver nothing).
 */
export function claimedOf(action: string, row: ClaimedRow): ClaimedDelivery | undefined {
  if (row.payload === null) return undefined;
  const delivery: ClaimedDelivery = {
    key: Number(row.event),
    action,
    attempts: row.attempts,
    payload: row.payload,
  };
  if (row.attempts_before > 0) delivery.attemptsBefore = row.attempts_before;
  if (row.trace !== null) delivery.trace = row.trace;
  if (row.tenant !== DEFAULT_TENANT) delivery.tenant = row.tenant;
  return delivery;
}
