import { existsSync } from "node:fs";
import { join } from "node:path";
import { type Command, InvalidArgumentError } from "commander";
import { FAKE_TENANT_STAND_IN, loadWithFakeTenant } from "../fake-tenant.js";
import { holderPid, lockStateDir } from "../lock.js";
import { cliActor } from "../operations.js";
import { resolveActions } from "../plugins/resolve-actions.js";
import { requestReload } from "../reload-request.js";
import { type ConfigOptions, configPath, loadFullConfig, withConfig } from "./config-options.js";

/**
 * `switchyard reload`: check the config, then send SIGHUP to the host that runs on its state. The host is
 * found by the pid it records in its state folder's lock (`host.lock`), or given with `--pid` (Postgres
 * state has no folder: each replica is signalled on its own machine). The host re-reads the config file it
 * was started with and logs "config reloaded", or the reason it refused and kept the running config. With
 * SQLite state the operator (`cli:<user>@<host>`) is left in the state folder for the host's audit log.
 */
export function registerReload(program: Command): void {
  withConfig(
    program
      .command("reload")
      .description("check the config, then tell the running host to re-read it (SIGHUP)")
      .option("--pid <pid>", "the host's process id (default: read from the state folder's lock)", pidArg)
      .option("--fake-tenant", "the host runs this config with `start --fake-tenant` (its own state)"),
  ).action(async (options: ConfigOptions & { pid?: number; fakeTenant?: boolean }) => {
    // With --fake-tenant the source is the fake's (no AUTH0_* needed) and the state is its own folder.
    const loaded = options.fakeTenant
      ? await loadWithFakeTenant(configPath(options.config), FAKE_TENANT_STAND_IN)
      : await loadFullConfig(options);
    // Refuse here what the host would refuse, with the same message, before signalling it.
    await resolveActions(loaded);
    let pid = options.pid;
    if (pid === undefined) {
      if (loaded.state.engine !== "sqlite") {
        throw new Error(
          "the state is a Postgres database, shared by replicas: pass --pid, or send SIGHUP to each replica (`kill -HUP <pid>`, `systemctl reload switchyard`)",
        );
      }
      pid = runningHost(loaded.state.dir);
    }
    // Who asked, for the audit log (a signal does not say); Postgres state has no folder: `signal:SIGHUP`.
    if (loaded.state.engine === "sqlite") requestReload(loaded.state.dir, cliActor());
    process.kill(pid, "SIGHUP");
    process.stdout.write(
      `sent SIGHUP to the host (pid ${pid}): it re-reads the config it was started with; its log says "config reloaded" or why it refused\n`,
    );
  });
}

/** The pid of the host holding the state folder's lock; throws when none does. */
function runningHost(dir: string): number {
  const file = join(dir, "host.lock");
  if (existsSync(file)) {
    let release: (() => void) | undefined;
    try {
      release = lockStateDir(dir, 100);
    } catch {
      // Held: a host runs on this state. Its pid is in the lock file.
      const pid = holderPid(file);
      if (pid !== undefined) return pid;
      throw new Error(`a host holds ${file} but its pid cannot be read: pass --pid`);
    }
    release();
  }
  throw new Error(`no switchyard host is running on the state folder ${dir}`);
}

function pidArg(value: string): number {
  const pid = Number(value);
  if (!Number.isInteger(pid) || pid <= 0) {
    throw new InvalidArgumentError("a process id");
  }
  return pid;
}
