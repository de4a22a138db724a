import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

/** What is wrong with the webhook's `tls` files, by field: checked by `validate` as well as `start`. */
export function tlsIssues(
  tls: { cert: string; key: string },
  dir: string,
): Array<{ field: "cert" | "key"; message: string }> {
  const issues: Array<{ field: "cert" | "key"; message: string }> = [];
  const read = (field: "cert" | "key"): string | undefined => {
    const file = resolve(dir, tls[field]);
    try {
      return readFileSync(file, "utf8");
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? String(error);
      issues.push({ field, message: `cannot read ${file} (${code})` });
      return undefined;
    }
  };
  const certText = read("cert");
  const keyText = read("key");
  let cert: X509Certificate | undefined;
  if (certText !== undefined) {
    try {
      cert = new X509Certificate(certText);
    } catch {
      const swapped = /PRIVATE KEY-----/.test(certText)
        ? ": it holds a private key (are cert and key swapped?)"
        : "";
      issues.push({ field: "cert", message: `is not a PEM certificate${swapped}` });
    }
  }
  if (keyText !== undefined) {
    if (/-----BEGIN CERTIFICATE-----/.test(keyText) && !/PRIVATE KEY-----/.test(keyText)) {
      issues.push({
        field: "key",
        message: "holds a certificate, not a private key (are cert and key swapped?)",
      });
    } else {
      try {
        const key = createPrivateKey(keyText);
        if (cert && !cert.checkPrivateKey(key)) {
          issues.push({ field: "key", message: "does not belong to the certificate in `cert`" });
        }
      } catch {
        // Never quote the file: it is a secret.
        issues.push({
          field: "key",
          message: "is not a PEM private key (an encrypted key is not supported)",
        });
      }
    }
  }
  return issues;
}
