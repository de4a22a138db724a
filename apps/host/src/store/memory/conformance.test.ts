import { describeStore } from "../../../test/store-conformance.js";
import { createMemoryState, openMemoryStore } from "./index.js";

// Each test's state is one `MemoryState`; opening it again finds what the last store left, as a restarted
// host finds its SQLite folder.
describeStore("memory", async () => {
  const state = createMemoryState();
  return { open: async () => openMemoryStore({ state }), dispose: async () => {} };
});
