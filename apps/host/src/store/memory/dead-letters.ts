// Dead letters (the dead-letter part of StateStore in ../types.ts): selections by `DeadLetterFilter`, as
// ../dead-filter.ts selects them in SQL for both other engines, and what an operator does with them.
import { eventTimeMs, isNewer } from "../latest.js";
import type { DeadLetter, DeadLetterFilter, StateStore, SupersededDeadLetter } from "../types.js";
import {
  type Answers,
  allRows,
  compareText,
  type DeliveryRow,
  type EventRow,
  type MemoryState,
  typeMatches,
} from "./state.js";

type DeadLetterMethods = Pick<
  StateStore,
  "listDead" | "countDead" | "replayDead" | "supersededDead" | "purgeDead" | "purgeAction"
>;

/** A dead-letter row with its event. */
interface Dead {
  row: DeliveryRow;
  event: EventRow;
}

/** Dead letters are listed, paged and limited in the order of (failedAt, key, action). */
function compareDead(a: Dead, b: Dead): number {
  return (
    a.row.updatedAt - b.row.updatedAt || a.row.key - b.row.key || compareText(a.row.action, b.row.action)
  );
}

/** Whether a dead letter comes after a page's position, in that order. */
function isAfter({ row }: Dead, after: NonNullable<DeadLetterFilter["after"]>): boolean {
  if (row.updatedAt !== after.failedAt) return row.updatedAt > after.failedAt;
  if (row.key !== after.key) return row.key > after.key;
  return compareText(row.action, after.action) > 0;
}

export function memoryDeadLetters(state: MemoryState): Answers<DeadLetterMethods> {
  /**
   * The dead letters `filter` selects, oldest first, at most its `limit`; those named in `except` are left
   * out before the limit counts. Every field of the filter narrows the selection; a dead letter's time is
   * when it was dead-lettered.
   */
  const select = (filter: DeadLetterFilter = {}, except: readonly SupersededDeadLetter[] = []): Dead[] => {
    const excepted = new Set(except.map((s) => `${s.action}\u0000${s.key}`));
    const selected: Dead[] = [];
    for (const row of allRows(state)) {
      if (row.status !== "dead") continue;
      const event = state.events.get(row.key);
      if (event === undefined) continue;
      const dead = { row, event };
      if (filter.action !== undefined && row.action !== filter.action) continue;
      if (filter.tenant !== undefined && event.tenant !== filter.tenant) continue;
      if (filter.eventId !== undefined && event.eventId !== filter.eventId) continue;
      if (!typeMatches(filter.type, event.type)) continue;
      if (filter.since !== undefined && row.updatedAt < filter.since) continue;
      if (filter.until !== undefined && row.updatedAt >= filter.until) continue;
      if (filter.after !== undefined && !isAfter(dead, filter.after)) continue;
      if (excepted.has(`${row.action}\u0000${row.key}`)) continue;
      selected.push(dead);
    }
    selected.sort(compareDead);
    return filter.limit !== undefined ? selected.slice(0, Math.max(0, Math.floor(filter.limit))) : selected;
  };

  return {
    listDead: (filter) =>
      select(filter).map(
        ({ row, event }): DeadLetter => ({
          action: row.action,
          tenant: event.tenant,
          eventId: event.eventId,
          eventType: event.type,
          attempts: row.attempts,
          lastError: row.lastError ?? "",
          failedAt: new Date(row.updatedAt).toISOString(),
          eventTime: event.time,
          key: row.key,
        }),
      ),

    countDead: (filter) => select(filter).length,

    replayDead(filter, now, superseded) {
      // Due at `now` afresh: the attempts made so far count on in `attemptsBefore` (the history numbers the
      // next attempts from there). The superseded ones stay dead: replaying them would undo a newer event.
      const replayed = select(filter, superseded);
      for (const { row } of replayed) {
        row.status = "pending";
        row.attemptsBefore += row.attempts;
        row.attempts = 0;
        row.dueAt = now;
        row.updatedAt = now;
      }
      return replayed.length;
    },

    supersededDead(filter) {
      // Latest wins: a dead letter whose subject (its order key) has a newer event delivered to its action,
      // by time then stream position. One whose event time is not a time is never compared.
      return select(filter).flatMap(({ row, event }): SupersededDeadLetter[] => {
        if (row.orderKey === null) return [];
        const mark = state.latest.get(row.action)?.get(row.orderKey);
        const time = eventTimeMs(event.time);
        if (mark === undefined || time === undefined || !isNewer(mark, time, row.key)) return [];
        return [
          {
            action: row.action,
            tenant: event.tenant,
            eventId: event.eventId,
            key: row.key,
            newerEventId: state.events.get(mark.key)?.eventId,
            newerTime: new Date(mark.time).toISOString(),
          },
        ];
      });
    },

    purgeDead(filter) {
      const purged = select(filter);
      for (const { row } of purged) state.deliveries.get(row.action)?.delete(row.key);
      return purged.length;
    },

    purgeAction(action) {
      const rows = state.deliveries.get(action);
      let purged = 0;
      for (const [key, row] of rows ?? []) {
        if (row.status === "in flight") continue;
        rows!.delete(key);
        purged++;
      }
      return purged;
    },
  };
}
