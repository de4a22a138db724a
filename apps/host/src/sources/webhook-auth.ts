import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";

/** How Auth0 authenticates its deliveries: the Event Stream's `webhook_authorization`, one of three. */
export type WebhookAuth =
  | { bearer: string; basic?: undefined; header?: undefined }
  | { basic: { username: string; password: string }; bearer?: undefined; header?: undefined }
  | { header: { name: string; value: string }; bearer?: undefined; basic?: undefined };

/** Checks a request's credentials; `challenge` is the `WWW-Authenticate` to send with a 401, if any. */
export interface AuthCheck {
  verify(headers: IncomingHttpHeaders): boolean;
  challenge: string | undefined;
}

// Credentials are compared as SHA-256 digests with timingSafeEqual: digests have equal lengths whatever was
// sent, so neither the comparison's time nor an early length check tells an attacker anything.
const digest = (text: string): Buffer => createHash("sha256").update(text, "utf8").digest();
const same = (given: string | undefined, expected: Buffer): boolean => {
  // A missing credential is still compared, so that a request without one takes as long as a wrong one.
  const ok = timingSafeEqual(digest(given ?? ""), expected);
  return ok && given !== undefined;
};

/** The check for one configured method. */
export function createAuthCheck(auth: WebhookAuth): AuthCheck {
  if (auth.bearer !== undefined) {
    const expected = digest(auth.bearer);
    return {
      challenge: 'Bearer realm="switchyard"',
      verify: (headers) => same(credential(headers.authorization, "bearer"), expected),
    };
  }
  if (auth.basic !== undefined) {
    const expected = digest(`${auth.basic.username}:${auth.basic.password}`);
    return {
      challenge: 'Basic realm="switchyard", charset="UTF-8"',
      verify: (headers) => {
        const encoded = credential(headers.authorization, "basic");
        const decoded = encoded === undefined ? undefined : Buffer.from(encoded, "base64").toString("utf8");
        return same(decoded, expected);
      },
    };
  }
  const name = auth.header.name.toLowerCase();
  const expected = digest(auth.header.value);
  return {
    challenge: undefined,
    verify: (headers) => {
      const value = headers[name];
      return same(typeof value === "string" ? value : undefined, expected);
    },
  };
}

/** The credentials of an `Authorization: <scheme> <credentials>` header, when the scheme matches. */
function credential(header: string | undefined, scheme: string): string | undefined {
  if (header === undefined) return undefined;
  const space = header.indexOf(" ");
  if (space < 0 || header.slice(0, space).toLowerCase() !== scheme) return undefined;
  return header.slice(space + 1).trim();
}
