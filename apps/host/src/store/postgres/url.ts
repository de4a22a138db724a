import { redactUrlSecrets, urlSecrets } from "../../config/url-secrets.js";

/** True for the URLs that select the PostgreSQL engine. */
export function isPostgresUrl(value: string): boolean {
  return /^postgres(ql)?:\/\//i.test(value);
}

/** The URL with its password (and any secret query parameter) replaced by `***`, for every message that names the database. */
export function redactUrl(url: string): string {
  return redactUrlSecrets(url);
}

/** Remove a URL's secrets (raw and URL-decoded) from a driver's message, whatever it quotes. */
export function redactMessage(message: string, url: string): string {
  let out = message.split(url).join(redactUrl(url));
  for (const secret of urlSecrets(url).sort((a, b) => b.length - a.length))
    out = out.split(secret).join("***");
  return out;
}
