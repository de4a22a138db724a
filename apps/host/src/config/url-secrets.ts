/** Names that mark a value as secret: in config keys, environment variables and URL query parameters. */
export const SECRET_NAME = /token|secret|password|passwd|key|credential|authorization|cookie|signature/i;

/**
 * The secrets a URL carries, as written and decoded: its password, and the value of every query parameter
 * whose name sounds secret (`?password=`, `?access_token=`, `?api_key=`, `?sslpassword=`). Empty for text
 * that is not a URL with a scheme.
 */
export function urlSecrets(text: string): string[] {
  if (!text.includes("://")) return [];
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    // Not parseable: still take anything between `user:` and `@`.
    const password = /\/\/[^:/@]*:([^@]*)@/.exec(text)?.[1];
    return password ? withDecoded(password) : [];
  }
  const found = url.password ? withDecoded(url.password) : [];
  for (const [name, value] of url.searchParams) {
    if (value && SECRET_NAME.test(name)) {
      // searchParams decodes: the raw form is what the text holds.
      const raw = new RegExp(`[?&]${escapeRegExp(encodeURIComponent(name))}=([^&#]*)`).exec(url.search)?.[1];
      found.push(value, ...(raw && raw !== value ? [raw] : []));
    }
  }
  return found;
}

/** `text` with its URL secrets replaced by `***`. */
export function redactUrlSecrets(text: string): string {
  let out = text;
  for (const secret of urlSecrets(text).sort((a, b) => b.length - a.length))
    out = out.split(secret).join("***");
  return out;
}

function withDecoded(value: string): string[] {
  try {
    const decoded = decodeURIComponent(value);
    return decoded === value ? [value] : [value, decoded];
  } catch {
    return [value];
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
