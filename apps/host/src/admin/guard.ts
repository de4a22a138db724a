import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { isLoopback } from "../config/schema.js";
import { type AdminToken, LOOPBACK, type Principal } from "./roles.js";

/** Why a request was refused: the status and a message for the caller (never echoing what it sent). */
export interface Refusal {
  status: number;
  error: string;
  headers?: Record<string, string>;
}

/** An API call let through: who makes it (undefined: an open route called without a valid token). */
export interface Admission {
  who: Principal | undefined;
  /** Whether this server has admin tokens (the console then asks for one). */
  tokenRequired: boolean;
}

const digest = (text: string) => createHash("sha256").update(text).digest();

/**
 * The admin API's door. Safe by default, against the two ways a web page the operator visits could reach a
 * loopback server through their browser:
 * - DNS rebinding (a hostile name that resolves to 127.0.0.1 reads the API): without a token, the `Host`
 *   header must name this machine (localhost, 127.x.x.x, [::1]).
 * - Cross-site requests (a form or fetch that replays or purges): a change is accepted only as a POST of
 *   `application/json` (a plain form cannot send that, and a cross-site fetch of it needs a preflight this
 *   server never grants) and, without a token, only from the page's own origin (`Origin`, `Sec-Fetch-Site`).
 * With admin tokens (`server.adminToken`, `server.adminTokens`), every API call but the open ones (whoami)
 * needs `Authorization: Bearer <token>`: a browser never adds it by itself, so a token-carrying request is
 * the operator's own. The token says who calls and with which role; the API checks the role per route.
 */
export function createGuard(tokens: readonly AdminToken[]) {
  const expected = tokens.map(({ token, ...who }) => ({ who, digest: digest(token) }));
  const tokenRequired = expected.length > 0;

  const identify = (req: IncomingMessage): Principal | undefined => {
    const header = req.headers.authorization ?? "";
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (match === null) return undefined;
    // Compared as digests: equal lengths for timingSafeEqual, and nothing about the token's length leaks.
    // Every token is compared (no early exit), so the time taken does not say which one matched.
    const presented = digest(match[1]!);
    let found: Principal | undefined;
    for (const { who, digest: known } of expected) {
      if (timingSafeEqual(presented, known)) found = who;
    }
    return found;
  };

  const hostIsLocal = (req: IncomingMessage): boolean => {
    const host = req.headers.host;
    if (!host) return false;
    const name = host.startsWith("[") ? host.slice(0, host.indexOf("]") + 1) : host.split(":")[0]!;
    return isLoopback(name);
  };

  const sameOrigin = (req: IncomingMessage): boolean => {
    const site = req.headers["sec-fetch-site"];
    if (site !== undefined && site !== "same-origin" && site !== "none") return false;
    const origin = req.headers.origin;
    if (origin === undefined) return true;
    try {
      return new URL(origin).host === req.headers.host;
    } catch {
      return false;
    }
  };

  return {
    /** Pages and assets: served to anyone who may reach the API (they hold no data). */
    page(req: IncomingMessage): Refusal | undefined {
      if (!tokenRequired && !hostIsLocal(req)) return misdirected;
      return undefined;
    },
    /**
     * An API call: who makes it when it may go on, else why not. An `open` route (whoami) is let through
     * without a valid token, so that the console learns it needs one before anything is refused.
     */
    api(req: IncomingMessage, open = false): Refusal | Admission {
      let who: Principal | undefined;
      if (tokenRequired) {
        who = identify(req);
        if (!who && !open) {
          return {
            status: 401,
            error: "this server needs an admin token: send `Authorization: Bearer <token>`",
            headers: { "www-authenticate": 'Bearer realm="switchyard"' },
          };
        }
      } else if (!hostIsLocal(req)) {
        return misdirected;
      } else {
        who = LOOPBACK;
      }
      const admitted: Admission = { who, tokenRequired };
      if (req.method === "GET" || req.method === "HEAD") return admitted;
      if (req.method !== "POST")
        return { status: 405, error: "only GET and POST", headers: { allow: "GET, POST" } };
      const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
      if (type !== "application/json") {
        return { status: 415, error: "a change must be sent as application/json" };
      }
      if (!tokenRequired && !sameOrigin(req)) {
        return {
          status: 403,
          error: "cross-origin changes are refused (send the admin token, or use the console)",
        };
      }
      return admitted;
    },
  };
}

const misdirected: Refusal = {
  status: 421,
  error:
    "this server answers only to its loopback address (localhost, 127.0.0.1, [::1]); set server.adminToken or server.adminTokens to serve other names",
};
