import { createHash, createHmac } from "node:crypto";
import type { RecordedRequest } from "./fake-server.js";

/** Static AWS credentials a fake accepts; the SDK takes the same object as `credentials`. */
export interface FakeAwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([a-z0-9-]+)\/([a-z0-9-]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;

/**
 * Check a request's AWS Signature Version 4 the way AWS does: the scope (key, date, region, service), the
 * signed headers (host and x-amz-date at least), the payload hash, then the signature itself recomputed with
 * the secret key. Answers why it fails, or undefined when the request is signed right.
 */
export function sigV4Problem(
  request: RecordedRequest,
  expected: { credentials: FakeAwsCredentials; region: string; service: string },
): string | undefined {
  const header = request.headers.authorization;
  if (!header) return "missing Authorization header";
  const match = AUTHORIZATION.exec(header);
  if (!match) return "the Authorization header is not AWS4-HMAC-SHA256";
  const [, keyId, date, region, service, signedHeaderList, signature] = match as unknown as string[];
  if (keyId !== expected.credentials.accessKeyId) return "unknown access key";
  if (region !== expected.region) return `signed for region ${region}, not ${expected.region}`;
  if (service !== expected.service) return `signed for service ${service}, not ${expected.service}`;
  const amzDate = request.headers["x-amz-date"];
  if (typeof amzDate !== "string" || !amzDate.startsWith(date as string)) return "x-amz-date does not match";
  const signedHeaders = (signedHeaderList as string).split(";");
  if (!signedHeaders.includes("host") || !signedHeaders.includes("x-amz-date")) {
    return "host and x-amz-date must be signed";
  }
  const payloadHash = sha256(request.body);
  const claimed = request.headers["x-amz-content-sha256"];
  if (claimed !== undefined && claimed !== payloadHash) return "x-amz-content-sha256 does not match the body";

  const url = new URL(request.path, "http://fake");
  const canonicalHeaders = signedHeaders
    .map(
      (name) =>
        `${name}:${String(request.headers[name] ?? "")
          .trim()
          .replace(/\s+/g, " ")}\n`,
    )
    .join("");
  const canonicalQuery = [...url.searchParams]
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .sort()
    .join("&");
  const canonicalRequest = [
    request.method,
    url.pathname,
    canonicalQuery,
    canonicalHeaders,
    signedHeaderList,
    payloadHash,
  ].join("\n");
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256(canonicalRequest)].join("\n");
  let key: Buffer = hmac(`AWS4${expected.credentials.secretAccessKey}`, date as string);
  for (const part of [region, service, "aws4_request"]) key = hmac(key, part as string);
  const computed = createHmac("sha256", key).update(stringToSign).digest("hex");
  return computed === signature ? undefined : "the signature does not match";
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

function hmac(key: string | Buffer, text: string): Buffer {
  return createHmac("sha256", key).update(text).digest();
}
