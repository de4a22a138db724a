// What the store conformance suite's parts share: the harness an engine gives, the open store of each test,
// and small builders of ingest rows and completions.
import type { Auth0Event } from "@switchyard/core";
import { createEventFactory, waitFor } from "@switchyard/testing";
import type { Completion, IngestEvent, StateStore } from "../../src/store/types.js";

/** One test's state: `open` opens it (again after a close: the same state); `dispose` removes it. */
export interface StoreHarness {
  open(): Promise<StateStore>;
  dispose(): Promise<void>;
}

/** What each part of the suite reaches: the test's open store, and `open` for another on the same state. */
export interface StoreSuite {
  /** The store `beforeEach` opened for the running test. */
  store(): StateStore;
  /** Open the test's state again (a second replica, a reader, or after a close). */
  open(): Promise<StateStore>;
}

export const factory = createEventFactory({ seed: 21 });

/** An ingest row: `event` delivered to `actions`. */
export const ingestRow = (
  event: Auth0Event,
  actions: string[],
  options: { held?: boolean; orderKey?: string | null } = {},
): IngestEvent => ({
  event,
  payload: JSON.stringify(event),
  deliveries: actions.map((action) => ({
    action,
    orderKey: options.orderKey ?? null,
    held: options.held ?? false,
  })),
});

export const idOf = (payload: string) => (JSON.parse(payload) as { id: string }).id;
export const delivered = (action: string, key: number, rowless?: boolean): Completion => ({
  key,
  action,
  result: "delivered",
  ...(rowless ? { rowless } : {}),
});
export const dead = (action: string, key: number, error = "PermanentError: 400"): Completion => ({
  key,
  action,
  result: "dead",
  attempts: 3,
  error,
});
/** Wait until the clock has moved past `t` (dead letters are timed by the ms). */
export const after = (t: number) => waitFor(() => Date.now() > t, { intervalMs: 1 });
