// The recorder test plugin (fixtures/plugins/recorder.mjs) writes each attempt to a global list by id; these
// read it from tests running in the same process as the host.
import { fileURLToPath } from "node:url";

export const RECORDER = fileURLToPath(new URL("./fixtures/plugins/recorder.mjs", import.meta.url));

export type Attempt = {
  id: string;
  type: string;
  /** The event's `a0tenant` (whose tenant it is, when tenants' events share ids). */
  a0tenant: string;
  attempt: number;
  at: number;
  done: boolean;
};

/** Every attempt the recorder with this id saw, in order. */
export const recorded = (id: string): Attempt[] =>
  (globalThis as { __switchyardRecorder?: Record<string, Attempt[]> }).__switchyardRecorder?.[id] ?? [];

/** The event ids the recorder with this id delivered (attempts that returned). */
export const delivered = (id: string) =>
  new Set(
    recorded(id)
      .filter((a) => a.done)
      .map((a) => a.id),
  );
