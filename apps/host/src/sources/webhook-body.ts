import type { IncomingMessage } from "node:http";

const JSON_TYPES = new Set(["application/json", "application/cloudevents+json"]);

/** Why a `Content-Type` is refused, or undefined: JSON or structured CloudEvents JSON, in UTF-8. */
export function contentTypeError(header: string | undefined): string | undefined {
  if (!header) return "missing Content-Type: send application/json";
  const [type = "", ...params] = header.split(";");
  if (!JSON_TYPES.has(type.trim().toLowerCase())) {
    return `Content-Type ${type.trim()} is not accepted: send application/json or application/cloudevents+json`;
  }
  for (const param of params) {
    const [key = "", value = ""] = param.split("=");
    const charset = value.trim().replace(/^"|"$/g, "").toLowerCase();
    if (key.trim().toLowerCase() === "charset" && charset !== "utf-8" && charset !== "utf8") {
      return `charset ${charset} is not accepted: send UTF-8`;
    }
  }
  return undefined;
}

export type BodyResult =
  | { ok: true; text: string }
  | { ok: false; reason: "too_large" | "aborted" | "not_utf8" };

/**
 * Read a request body of at most `maxBytes`. Past the cap it stops reading at once (the caller answers 413
 * and closes the connection); a client that goes away before the end gives `aborted`.
 */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<BodyResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (result: BodyResult) => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onAbort);
      req.off("close", onClose);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        req.pause();
        finish({ ok: false, reason: "too_large" });
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      try {
        const bytes = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
        finish({ ok: true, text: utf8.decode(bytes) });
      } catch {
        finish({ ok: false, reason: "not_utf8" });
      }
    };
    const onAbort = () => finish({ ok: false, reason: "aborted" });
    const onClose = () => {
      if (!req.complete) onAbort();
    };
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onAbort);
    req.on("close", onClose);
  });
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
