import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeStore } from "../../test/store-conformance.js";
import { inline } from "./open.js";
import { openStoreThread } from "./sqlite/client.js";
import { openSqliteStore } from "./sqlite/index.js";

const sqliteHarness = (openOne: (file: string) => ReturnType<typeof openStoreThread>) => async () => {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-conformance-"));
  const file = join(dir, "state", "switchyard.db");
  return {
    open: () => openOne(file),
    dispose: async () => rmSync(dir, { recursive: true, force: true }),
  };
};

describeStore(
  "sqlite (inline)",
  sqliteHarness(async (file) => inline(openSqliteStore(file))),
);
describeStore(
  "sqlite (thread)",
  sqliteHarness((file) => openStoreThread(file, {})),
);
