import { describe } from "vitest";
import { createTestSchema, postgresAvailable } from "../../../test/postgres.js";
import { describeStore } from "../../../test/store-conformance.js";
import { openPostgresStore } from "./store.js";

describe.skipIf(!(await postgresAvailable()))("postgres", () => {
  describeStore("postgres", async () => {
    const schema = await createTestSchema();
    return { open: () => openPostgresStore(schema.url), dispose: () => schema.drop() };
  });
});
