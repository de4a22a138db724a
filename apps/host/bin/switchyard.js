#!/usr/bin/env node
// A committed launcher, so package managers can link the bin before the first build.
import("../dist/cli.js").catch((error) => {
  if (error?.code === "ERR_MODULE_NOT_FOUND" && String(error.message).includes("dist/cli.js")) {
    console.error("[switchyard] the host is not built yet: run `pnpm build` (or `pnpm start`) first");
    process.exit(1);
  }
  throw error;
});
