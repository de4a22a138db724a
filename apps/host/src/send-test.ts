import { createEventFactory } from "@switchyard/testing";
import type { LoadedConfig } from "./config/load.js";
import { tenantSources } from "./config/schema.js";
import { ActionMatcher } from "./engine/matching.js";
import { cliActor } from "./operations.js";
import { openStore } from "./store/open.js";
import { DEFAULT_TENANT } from "./tenants.js";

/**
 * Write a realistic test event (`a0purpose: "test"`) with its deliveries straight into the store; a running
 * host picks them up on its next poll, as it does retries.
 */
export async function sendTestEvent(
  loaded: LoadedConfig,
  type: string,
  /** Whose event it is (default: the config's first tenant); its actions get it, as from its stream. */
  tenant: string = tenantSources(loaded.config)[0]?.tenant ?? DEFAULT_TENANT,
): Promise<{
  eventId: string;
  actions: string[];
  /** Actions that subscribe to the type but whose `filter` rejected the event, with the filter's reason. */
  filtered: Array<{ action: string; index: number; reason: string }>;
}> {
  const factory = createEventFactory({ seed: Date.now() % 2 ** 31, start: new Date(), tenant });
  const event = factory.event(type, { a0purpose: "test" });
  const several = tenantSources(loaded.config).length > 1;
  const specs = loaded.config.actions.flatMap((a, index) =>
    a.enabled ? [{ index, matcher: new ActionMatcher(a, several) }] : [],
  );
  const matching = specs.map((s) => s.matcher).filter((spec) => spec.accepts(event, tenant));
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
      tenant,
    );
    await store.recordAudit({
      at: Date.now(),
      actor: cliActor(),
      operation: "send-test",
      selection: { type, ...(loaded.config.sources ? { tenant } : {}) },
      result: { eventId: event.id, actions: matching.map((spec) => spec.name) },
    });
  } finally {
    await store.close();
  }
  return { eventId: event.id, actions: matching.map((spec) => spec.name), filtered };
}
