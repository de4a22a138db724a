import type { IncomingMessage, ServerResponse } from "node:http";

/** Placeholder until the console lands: answers nothing. */
export function consoleHandler(): (req: IncomingMessage, res: ServerResponse) => boolean {
  return () => false;
}
