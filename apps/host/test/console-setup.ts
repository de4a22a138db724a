import { buildConsole } from "../console/build.ts";

/** vitest globalSetup: the console's bundle in dist/console, where the ops server serves it from. */
export default async function setup(): Promise<void> {
  await buildConsole();
}
