// The store conformance suite: every behaviour of the StateStore contract (src/store/types.ts), run against
// each engine, as unstorage's `testDriver` runs every driver. Engine-only details stay in each engine's tests.
// Its parts, one per facet of the contract, are in store-conformance/.
import { waitFor } from "@switchyard/testing";
import { afterEach, beforeEach, describe } from "vitest";
import type { StateStore } from "../src/store/types.js";
import { describeAudit } from "./store-conformance/audit.js";
import { describeDeadLetters } from "./store-conformance/dead-letters.js";
import { describeDeliveries } from "./store-conformance/deliveries.js";
import { describeHistory } from "./store-conformance/history.js";
import type { StoreHarness, StoreSuite } from "./store-conformance/shared.js";
import { describeStates } from "./store-conformance/states.js";
import { describeUpkeep } from "./store-conformance/upkeep.js";

export { ingestRow, type StoreHarness } from "./store-conformance/shared.js";

/** Run every store behaviour against an engine; `fresh` makes an empty state for each test. */
export function describeStore(name: string, fresh: () => Promise<StoreHarness>): void {
  describe(`store conformance: ${name}`, () => {
    let harness: StoreHarness;
    let opened: StateStore[] = [];
    let store: StateStore;

    /** Open the test's state; an engine with a stream lease is made leader, as the host's reader would be. */
    const open = async () => {
      const next = await harness.open();
      opened.push(next);
      if (next.leadership) await waitFor(() => next.leadership!.acquire(), { message: "the stream lease" });
      return next;
    };

    beforeEach(async () => {
      harness = await fresh();
      opened = [];
      store = await open();
    });
    afterEach(async () => {
      for (const s of opened) await s.close().catch(() => {});
      await harness.dispose();
    });

    const suite: StoreSuite = { store: () => store, open };

    describeDeliveries(suite);
    describeDeadLetters(suite);
    describeStates(suite);
    describeHistory(suite);
    describeAudit(suite);
    describeUpkeep(suite);
  });
}
