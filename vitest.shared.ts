import { defaultServerConditions } from "vite";
import { defineProject, type UserWorkspaceConfig } from "vitest/config";

/** Resolve workspace packages to their TypeScript sources, so tests never need a build. */
export function switchyardProject(name: string, test: UserWorkspaceConfig["test"] = {}): UserWorkspaceConfig {
  const conditions = ["@switchyard/source", ...defaultServerConditions];
  return defineProject({
    resolve: { conditions },
    ssr: { resolve: { conditions, externalConditions: ["@switchyard/source"] } },
    test: { name, include: ["src/**/*.test.ts", "test/**/*.test.ts"], ...test },
  });
}
