// The deployment starters in deploy/: what can be checked without a container daemon or systemd running.
// The image's build steps themselves run in CI (deploy/image/check.sh, from .ci/run).
import { execFile, execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { finishConfig, loadConfig } from "../src/config/load.js";
import { type Host, startHost } from "../src/host.js";
import { createMetrics } from "../src/metrics.js";
import { memorySource } from "./memory-source.js";

const DEPLOY = fileURLToPath(new URL("../../../deploy/", import.meta.url));
const read = (file: string) => readFileSync(`${DEPLOY}${file}`, "utf8");
/** delivery.shutdownGraceMs by default, in seconds: stop timeouts must leave more than this. */
const GRACE_SECONDS =
  finishConfig(
    {
      source: { auth0: { domain: "x", token: "t0ken" } },
      actions: [{ name: "c", plugin: "console", events: ["*"] }],
    },
    "x.yaml",
    {},
  ).config.delivery.shutdownGraceMs / 1000;

/** Every metric the host exports, with its labels (a histogram's series take _bucket, _sum, _count). */
function exported(): Map<string, string[]> {
  const metrics = new Map<string, string[]>();
  for (const metric of createMetrics().registry.getMetricsAsArray()) {
    const { name, labelNames, type } = metric as unknown as {
      name: string;
      labelNames?: string[];
      type: string;
    };
    const labels = [...(labelNames ?? []), ...(type === "histogram" ? ["le"] : [])];
    metrics.set(name, labels);
    if (type === "histogram")
      for (const suffix of ["_bucket", "_sum", "_count"]) metrics.set(name + suffix, labels);
  }
  return metrics;
}

describe("deploy/prometheus/alerts.yaml", () => {
  const rules = (
    parse(read("prometheus/alerts.yaml")) as {
      groups: Array<{
        name: string;
        rules: Array<{ alert: string; expr: string; labels: { severity: string } }>;
      }>;
    }
  ).groups.flatMap((group) => group.rules);
  const metrics = exported();

  it("names only metrics the host exports, with their own labels", () => {
    expect(rules.length).toBeGreaterThan(0);
    for (const rule of rules) {
      expect(rule.alert, rule.expr).toMatch(/^Switchyard[A-Za-z]+$/);
      expect(["warning", "critical"]).toContain(rule.labels.severity);
      const names = [...rule.expr.matchAll(/\bswitchyard_\w+/g)].map((m) => m[0]);
      expect(names.length, rule.alert).toBeGreaterThan(0);
      for (const name of names) expect(metrics.has(name), `${rule.alert}: ${name}`).toBe(true);
      // Label matchers: `metric{label="value"}` uses a label of that metric (or Prometheus' own).
      for (const [, name, matchers] of rule.expr.matchAll(/\b(switchyard_\w+)\{([^}]*)\}/g)) {
        for (const [, label] of matchers!.matchAll(/(\w+)\s*[=!~]/g)) {
          expect([...metrics.get(name!)!, "job", "instance"], `${rule.alert}: ${name}{${label}}`).toContain(
            label,
          );
        }
      }
      // Balanced brackets, the commonest slip in a hand-written expression.
      for (const [open, close] of ["()", "{}", "[]"]) {
        expect(rule.expr.split(open!).length, `${rule.alert}: ${open}${close}`).toBe(
          rule.expr.split(close!).length,
        );
      }
    }
  });

  it("covers stream lag, dead letters, a paused action and no leader", () => {
    const all = rules.map((rule) => rule.expr).join("\n");
    for (const metric of [
      "switchyard_stream_lag_seconds",
      "switchyard_deliveries_total",
      "switchyard_action_paused",
      "switchyard_stream_leader",
    ]) {
      expect(all).toContain(metric);
    }
  });
});

describe("deploy/systemd/switchyard.service", () => {
  const unit = read("systemd/switchyard.service");
  const value = (key: string) => new RegExp(`^${key}=(.*)$`, "m").exec(unit)?.[1];

  it("stops with SIGTERM and waits longer than the grace period; reloads with SIGHUP", () => {
    expect(value("KillSignal")).toBe("SIGTERM");
    expect(Number(value("TimeoutStopSec"))).toBeGreaterThan(GRACE_SECONDS);
    expect(value("ExecReload")).toBe("/bin/kill -HUP $MAINPID");
    expect(value("ExecStart")).toContain("switchyard start --config /etc/switchyard/switchyard.yaml");
    expect(value("RestartPreventExitStatus")).toBe("2");
  });

  it.skipIf(!existsSync("/usr/bin/systemd-analyze"))("passes systemd-analyze verify", () => {
    const result = spawnSync("systemd-analyze", ["verify", `${DEPLOY}systemd/switchyard.service`], {
      encoding: "utf8",
    });
    expect(result.stdout + result.stderr).toBe("");
    expect(result.status).toBe(0);
  });
});

describe("deploy/Dockerfile and deploy/compose.yaml", () => {
  const dockerfile = read("Dockerfile");
  const compose = parse(read("compose.yaml"), { merge: true }) as {
    services: Record<
      string,
      { build?: { dockerfile: string }; environment?: Record<string, string>; stop_grace_period?: string }
    >;
  };
  const env = {
    AUTH0_DOMAIN: "example.us.auth0.com",
    AUTH0_CLIENT_ID: "client-id",
    AUTH0_CLIENT_SECRET: "client-secret-value",
    AUDIT_LOG_URL: "https://example.com/audit",
    SWITCHYARD_ADMIN_TOKEN: "0123456789abcdef0123",
  };

  it("builds in two stages with deploy/image/build.sh, runs as a non-root user, keeps the state on a volume", () => {
    expect(dockerfile.match(/^FROM /gm)).toHaveLength(2);
    expect(dockerfile).toContain("RUN sh deploy/image/build.sh /src /opt/switchyard");
    expect(/^USER (\S+)$/m.exec(dockerfile)?.[1]).not.toMatch(/^(root|0)$/);
    expect(dockerfile).toMatch(/^VOLUME \["\/var\/lib\/switchyard"\]$/m);
    expect(dockerfile).toMatch(/^STOPSIGNAL SIGTERM$/m);
    expect(existsSync(`${DEPLOY}image/build.sh`)).toBe(true);
  });

  it("runs two replicas with their own names on the Postgres service, each given more than the grace period", async () => {
    const replicas = Object.entries(compose.services).filter(([, service]) => service.build);
    expect(replicas).toHaveLength(2);
    const ids = new Set(replicas.map(([, service]) => service.environment?.SWITCHYARD_REPLICA_ID));
    expect(ids.size).toBe(2);
    for (const [name, service] of replicas) {
      expect(service.build?.dockerfile, name).toBe("deploy/Dockerfile");
      expect(Number.parseInt(service.stop_grace_period ?? "0", 10), name).toBeGreaterThan(GRACE_SECONDS);
      const state = service.environment!.SWITCHYARD_STATE!;
      expect(new URL(state).hostname).toBe("postgres");
      expect(compose.services.postgres).toBeDefined();
      // The image's config, with this replica's environment: Postgres state, every variable resolved.
      const loaded = await loadConfig(`${DEPLOY}switchyard.yaml`, { ...env, SWITCHYARD_STATE: state });
      expect(loaded.state.engine).toBe("postgres");
    }
  });

  describe("the image's HEALTHCHECK", () => {
    const hosts: Host[] = [];
    afterAll(async () => {
      await Promise.all(hosts.map((host) => host.stop()));
    });

    it("passes against a live host's /healthz and fails once it is gone", async () => {
      const command = JSON.parse(
        /^\s+CMD (\[.*\])$/m.exec(dockerfile.split("HEALTHCHECK")[1]!)![1]!,
      ) as string[];
      expect(command.slice(0, 2)).toEqual(["node", "-e"]);
      const loaded = await loadConfig(`${DEPLOY}switchyard.yaml`, {
        ...env,
        SWITCHYARD_STATE: execFileSync("mktemp", ["-d"], { encoding: "utf8" }).trim(),
      });
      // The image listens on 9464; a test never binds a fixed port.
      loaded.config.server = { ...loaded.config.server, host: "127.0.0.1", port: 0 };
      const logs = new Writable({ write: (_chunk, _encoding, callback) => callback() });
      const host = await startHost(loaded, { logDestination: logs, source: memorySource() });
      hosts.push(host);
      // Asynchronously: the host answers from this very process.
      const probe = () =>
        new Promise<number | null>((resolve) =>
          execFile(process.execPath, ["-e", command[2]!.replace("9464", String(host.port))], {
            timeout: 10_000,
          }).on("exit", resolve),
        );
      expect(await probe()).toBe(0);
      await host.stop();
      expect(await probe()).toBe(1);
    });
  });
});
