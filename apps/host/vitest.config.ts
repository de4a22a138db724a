import { switchyardProject } from "../../vitest.shared.ts";

// Many host tests start real processes (`node --import tsx …`), which take seconds on a loaded 2-core
// machine: a test that hangs still fails, at 30 s rather than at vitest's default of 5 s.
// The console is built once before the tests (esbuild, well under a second), so that hosts started from
// source serve it as a built host does.
export default switchyardProject("host", { testTimeout: 30_000, globalSetup: ["./test/console-setup.ts"] });
