import { defineConfig } from "vitest/config";

// One run over every package's tests, from source (each package's vitest.config.ts): no build needed.
export default defineConfig({
  test: {
    projects: ["packages/*", "plugins/*", "apps/*"],
  },
});
