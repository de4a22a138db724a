import { createEventFactory } from "@switchyard/testing";
import type { LoadedConfig } from "./config/load.js";
import { ActionMatcher } from "./engine/matching.js";
import { cliActor } from "./operations.js";
import { openStore } from "./store/open.js";

/**
 * Write a realistic test event (`a0purpose: "test"`) with its deliveries straight into the store; a running
 * host picks them up on its next poll, as it does retries.
 */
export async function sendTestEvent(
  loaded: LoadedConfig,
  type: string,
): Promise<{
  eventId: string;
  actions: string[];
  /** Actions that subscribe to the type but whose `filter` rejected the event, with the filter's reason. */
  filtered: Array<{ action: string; index: number; reason: string }>;
}> {
  const event = createEventFactory({ seed: Date.now() % 2 ** 31, start: new Date() }).event(type, {
    a0purpose: "test",
  });
  const specs = loaded.config.actions.flatMap((a, index) =>
    a.enabled ? [{ index, matcher: new ActionMatcher(a) }] : [],
  );
  const matching = specs.map((s) => s.matcher).filter((spec) => spec.accepts(event));
  const filtered = specs.flatMap(({ index, matcher }) => {
    const reason = matcher.filteredOut(event);
    return reason === undefined ? [] : [{ action: matcher.name, index, reason }];
  });
  const store = await openStore(loaded);
  try {
    await store.ingest(
      [
        {
          event,
          payload: JSON.stringify(event),
          deliveries: matching.map((spec) => ({
            action: spec.name,
            orderKey: spec.keyOf(event),
            held: false,
          })),
        },
      ],
      undefined,
    );
    await store.recordAudit({
      at: Date.now(),
      actor: cliActor(),
      operation: "send-test",
      selection: { type },
      result: { eventId: event.id, actions: matching.map((spec) => spec.name) },
    });
  } finally {
    await store.close();
  }
  return { eventId: event.id, actions: matching.map((spec) => spec.name), filtered };
}
