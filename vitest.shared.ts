import { defaultServerConditions } from "vite";
import { defineProject, type UserWorkspaceConfig } from "vitest/config";

/** Resolve workspace packages to their TypeScript sources, so tests never need a build. */
export function switchyardProject(name: string, test: UserWorkspaceConfig["test"] = {}): UserWorkspaceConfig {
  // Not "module": Node never reads it, and the AWS SDK's "module" build (for bundlers) imports files without
  // extensions, which Node cannot load; tests load what Node loads.
  const conditions = ["@switchyard/source", ...defaultServerConditions.filter((c) => c !== "module")];
  return defineProject({
    resolve: { conditions },
    ssr: { resolve: { conditions, externalConditions: ["@switchyard/source"] } },
    test: { name, include: ["src/**/*.test.ts", "test/**/*.test.ts"], ...test },
  });
}
