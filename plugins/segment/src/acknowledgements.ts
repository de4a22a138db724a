import type { Analytics } from "@segment/analytics-node";

type Settle = (error?: unknown) => void;

const OUTCOME_EVENTS = ["track", "identify", "group", "page", "screen", "alias"] as const;

/**
 * Per-message outcomes from the SDK. Once the batch holding a message was accepted (or finally failed), the SDK
 * emits the message's type (`track`, …) or `error` with `code: "delivery_failure"`, with the message's context.
 * We listen to those rather than pass a callback per call: the SDK delays every callback until at least 300 ms
 * after the call (a legacy `dispatch` timeout) and arms two timers per message for it.
 */
export function listenForAcknowledgements(analytics: Analytics) {
  const waiting = new Map<string, Settle[]>();
  const settle = (messageId: string | undefined, error?: unknown) => {
    if (messageId === undefined) return;
    const queue = waiting.get(messageId);
    const next = queue?.shift();
    if (queue?.length === 0) waiting.delete(messageId);
    next?.(error);
  };
  for (const type of OUTCOME_EVENTS) analytics.on(type, (ctx) => settle(ctx.event.messageId));
  analytics.on("error", (error) => {
    if (error.ctx) settle(error.ctx.event.messageId, error.reason ?? new Error(error.code));
  });
  return {
    /** Call `settle` (with the failure reason, if any) once the message with this id is accepted or failed. */
    wait(messageId: string, onSettled: Settle): void {
      const queue = waiting.get(messageId);
      if (queue) queue.push(onSettled);
      else waiting.set(messageId, [onSettled]);
    },
    /** Forget a waiter whose call the SDK refused outright (it will never be settled). */
    forget(messageId: string, onSettled: Settle): void {
      const queue = waiting.get(messageId);
      const index = queue?.indexOf(onSettled) ?? -1;
      if (queue && index >= 0) queue.splice(index, 1);
      if (queue?.length === 0) waiting.delete(messageId);
    },
  };
}
