/** True for the URLs that select the PostgreSQL engine. */
export function isPostgresUrl(value: string): boolean {
  return /^postgres(ql)?:\/\//i.test(value);
}

/** The URL with its password replaced by `***`, for every message that names the database. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    // Not parseable as a URL: hide anything between `user:` and `@`.
    return url.replace(/(\/\/[^:/@]*:)[^@]*@/, "$1***@");
  }
}

/** Remove a URL's password (raw and URL-decoded) from a driver's message, whatever it quotes. */
export function redactMessage(message: string, url: string): string {
  let password = "";
  try {
    password = new URL(url).password;
  } catch {
    password = /\/\/[^:/@]*:([^@]*)@/.exec(url)?.[1] ?? "";
  }
  let out = message.split(url).join(redactUrl(url));
  if (password) {
    for (const secret of new Set([password, safeDecode(password)])) out = out.split(secret).join("***");
  }
  return out;
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
