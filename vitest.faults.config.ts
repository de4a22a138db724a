import { switchyardProject } from "./vitest.shared.ts";

// `pnpm test:faults`: the fault suite, real processes, a few minutes. Kept out of `pnpm test`.
export default switchyardProject("faults", {
  include: ["apps/host/faults/**/*.fault.test.ts"],
  testTimeout: 300_000,
  hookTimeout: 60_000,
  reporters: process.env.CI ? ["default", "json"] : ["default"],
  outputFile: { json: ".ci/results/faults.json" },
});
