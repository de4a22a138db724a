import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { events } from "@switchyard/testing";
import { Agent, request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../test/cli.js";
import { loadConfig } from "../config/load.js";
import { startWebhookSource, type WebhookEvent } from "./webhook.js";

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "switchyard-webhook-tls-"));
  // A self-signed certificate for 127.0.0.1, made for this run only.
  const made = spawnSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
      "-keyout",
      "key.pem",
      "-out",
      "cert.pem",
    ],
    { cwd: dir, encoding: "utf8" },
  );
  if (made.status !== 0) throw new Error(`openssl failed: ${made.error?.message ?? made.stderr}`);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it("serves HTTPS from the configured PEM files (paths relative to the config's folder)", async () => {
  const stored: WebhookEvent[] = [];
  const source = await startWebhookSource(
    {
      port: 0,
      path: "/auth0/events",
      auth: { header: { name: "x-switchyard-key", value: "tls-header-value" } },
      tls: { cert: "cert.pem", key: "key.pem" },
    },
    async (items) => {
      stored.push(...items);
      return { duplicates: 0 };
    },
    { log: quiet, baseDir: dir },
  );
  const trusting = new Agent({ connect: { ca: readFileSync(join(dir, "cert.pem")) } });
  try {
    expect(source.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/auth0\/events$/);
    const event = events.organizationCreated();
    const response = await request(source.url, {
      method: "POST",
      dispatcher: trusting,
      body: JSON.stringify(event),
      headers: { "content-type": "application/json", "x-switchyard-key": "tls-header-value" },
    });
    await response.body.dump();
    expect(response.statusCode).toBe(200);
    expect(stored.map((s) => s.event.id)).toEqual([event.id]);
    // A client that does not trust the certificate never gets to send anything.
    await expect(
      request(source.url, { method: "POST", body: "{}", headers: { "content-type": "application/json" } }),
    ).rejects.toThrow(/self[- ]signed|certificate/i);
    expect(stored).toHaveLength(1);
  } finally {
    await trusting.close();
    await source.close();
  }
});

it("names the file it cannot read", async () => {
  await expect(
    startWebhookSource(
      { port: 0, path: "/e", auth: { bearer: "abcdefgh" }, tls: { cert: "missing.pem", key: "key.pem" } },
      async () => ({ duplicates: 0 }),
      { log: quiet, baseDir: dir },
    ),
  ).rejects.toThrow(/source\.webhook\.tls\.cert: cannot read .*missing\.pem \(ENOENT\)/);
});

describe("validate checks the TLS files, naming the field", () => {
  const config = (cert: string, key: string) => {
    const file = join(dir, `tls-${cert}-${key}.yaml`.replaceAll("/", "_"));
    writeFileSync(
      file,
      `source:\n  webhook:\n    port: 0\n    path: /e\n    auth: { bearer: abcdefgh-123 }\n    tls: { cert: ${cert}, key: ${key} }\nactions:\n  - { name: a, plugin: console, events: ["*"] }\n`,
    );
    return file;
  };

  it("takes a matching certificate and key", async () => {
    await expect(loadConfig(config("cert.pem", "key.pem"), {})).resolves.toBeDefined();
  });

  it.each([
    [
      "cert.pem",
      "missing-key.pem",
      /:6:\d+: source\.webhook\.tls\.key: cannot read .*missing-key\.pem \(ENOENT\)/,
    ],
    [
      "key.pem",
      "cert.pem",
      /source\.webhook\.tls\.cert: is not a PEM certificate: it holds a private key \(are cert and key swapped\?\)/,
    ],
    ["key.pem", "cert.pem", /source\.webhook\.tls\.key: holds a certificate, not a private key/],
    ["cert.pem", "other-key.pem", /source\.webhook\.tls\.key: does not belong to the certificate/],
  ])("cert %s, key %s", async (cert, key, message) => {
    if (key === "other-key.pem") {
      const made = spawnSync(
        "openssl",
        ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key],
        {
          cwd: dir,
        },
      );
      expect(made.status).toBe(0);
    }
    const error = await loadConfig(config(cert, key), {}).catch((e: Error) => e);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toMatch(/BEGIN/);
  });

  it("exits 2 from `validate` when the key file is missing", async () => {
    const result = await runCli(["validate", "--config", config("cert.pem", "gone.pem")]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/source\.webhook\.tls\.key: cannot read/);
  });
});
