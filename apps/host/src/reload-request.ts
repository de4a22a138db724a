import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

// A signal does not say who sent it. `switchyard reload` leaves its operator (`cli:<user>@<host>`) in the
// state folder before it sends SIGHUP, and the host takes it when the signal arrives, for the audit log. Only
// who can write the state folder can name the operator; a request older than a minute is not taken (a
// `switchyard reload` whose signal never came).

const FILE = "reload-request.json";
const FRESH_MS = 60_000;

/** Leave `actor` for the host running on the state folder `dir`, before signalling it. */
export function requestReload(dir: string, actor: string, now = Date.now()): void {
  writeFileSync(join(dir, FILE), JSON.stringify({ actor, at: now }));
}

/** The operator `switchyard reload` left in `dir`, if it left one in the last minute; the request is removed. */
export function takeReloadRequest(dir: string, now = Date.now()): string | undefined {
  const file = join(dir, FILE);
  let request: { actor?: unknown; at?: unknown };
  try {
    request = JSON.parse(readFileSync(file, "utf8")) as typeof request;
  } catch {
    return undefined;
  } finally {
    rmSync(file, { force: true });
  }
  const fresh = typeof request.at === "number" && now - request.at <= FRESH_MS && request.at <= now + 5_000;
  return fresh && typeof request.actor === "string" ? request.actor.slice(0, 200) : undefined;
}
