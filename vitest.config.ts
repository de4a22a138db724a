import { defineConfig } from "vitest/config";

// One run over every package's tests, from source (each package's vitest.config.ts): no build needed.
// In CI a JSON report is written too, from which .ci/run prints its closing "N passed, N failed" line.
export default defineConfig({
  test: {
    projects: ["packages/*", "plugins/*", "apps/*"],
    reporters: process.env.CI ? ["default", "json"] : ["default"],
    outputFile: { json: ".ci/results/tests.json" },
  },
});
