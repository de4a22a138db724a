import { closeSync, openSync, readFileSync, readSync, realpathSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";

/**
 * How long to wait for a holder that is going away. A SIGKILLed host keeps its lock until the kernel has torn
 * the process down (its memory first, then its files), which can take a moment for a big heap; the winner of
 * a race also waits here for the loser to let go of its shared lock. A refusal takes this long.
 */
const LOCK_WAIT_MS = 2_000;
/** Where SQLite keeps the database's user_version in its header: the holder's pid, for the error message. */
const USER_VERSION_OFFSET = 60;
const HELD = Symbol.for("switchyard.stateLocks");

/** Another host holds the state folder: said in one line, and the CLI exits 2 (as for any bad input). */
export class StateInUseError extends Error {
  readonly code = "SWITCHYARD_STATE_IN_USE";
}

/** Lock files held by this process (by real path), shared by every copy of this module loaded in it. */
const registry = globalThis as { [HELD]?: Set<string> };
registry[HELD] ??= new Set();
const held = registry[HELD];

/**
 * One host per state folder: an exclusive lock on `host.lock` that the kernel holds for this process and
 * releases when it exits, however it exits (SIGKILL, OOM, pid 1 of a container), with no pid to check.
 *
 * The lock is SQLite's own: fcntl locks on the file, which also keep out a second connection in the same
 * process (SQLite tracks its locks per file across connections). `BEGIN EXCLUSIVE` takes it, and
 * `locking_mode = EXCLUSIVE` keeps it past the commit until the connection closes. It is taken in normal
 * locking mode: there an attempt that loses drops its shared lock at once, while in exclusive mode SQLite
 * keeps it, so two racers could each wait on the other until both give up. The state database itself is
 * never locked this way: CLI commands read it while the host runs.
 *
 * Throws when another host holds the folder; returns the function that releases it. `waitMs` is for tests.
 */
export function lockStateDir(dir: string, waitMs = LOCK_WAIT_MS): () => void {
  const file = join(dir, "host.lock");
  const db = new Database(file, { timeout: waitMs });
  try {
    // The lock file's content is only the pid: no journal file beside it.
    db.pragma("journal_mode = MEMORY");
    db.exec("BEGIN EXCLUSIVE");
    db.pragma("locking_mode = EXCLUSIVE");
    db.pragma(`user_version = ${process.pid}`);
    db.exec("COMMIT");
  } catch (error) {
    db.close();
    if ((error as { code?: string }).code !== "SQLITE_BUSY") {
      throw new Error(`cannot lock the state folder ${dir} (${file}): ${(error as Error).message}`);
    }
    const pid = holderPid(file);
    const machine = pid !== undefined ? holderMachine(file, pid) : undefined;
    const who = pid ? ` (pid ${pid}${machine ? ` on ${machine}` : ""})` : "";
    throw new StateInUseError(`another switchyard host${who} is using the state folder ${dir}`);
  }
  // Beside the lock, who holds it: the pid alone does not say which machine (a shared volume, a container).
  try {
    writeFileSync(ownerFile(file), JSON.stringify({ pid: process.pid, machine: hostname() }));
  } catch {
    // Only the refusal's message is poorer without it.
  }
  const key = realpathSync(file);
  held.add(key);
  return () => {
    if (!db.open) return;
    held.delete(key);
    db.close();
  };
}

const ownerFile = (lockFile: string) => `${lockFile}.owner`;

/** The machine the holder named in its owner file, when that file is the holder's (same pid) and readable. */
function holderMachine(file: string, pid: number): string | undefined {
  try {
    const owner = JSON.parse(readFileSync(ownerFile(file), "utf8")) as { pid?: unknown; machine?: unknown };
    return owner.pid === pid && typeof owner.machine === "string" && owner.machine
      ? owner.machine
      : undefined;
  } catch {
    return undefined;
  }
}

/** The pid the holder wrote in the lock file's header (as it sees itself: 1 in a container), if readable. */
export function holderPid(file: string): number | undefined {
  // Closing any descriptor of a file drops every fcntl lock this process holds on it: never open the lock
  // file outside SQLite while this process holds it.
  if (held.has(realpathSync(file))) return process.pid;
  let fd: number | undefined;
  try {
    fd = openSync(file, "r");
    const header = Buffer.alloc(4);
    return readSync(fd, header, 0, 4, USER_VERSION_OFFSET) === 4
      ? header.readUInt32BE(0) || undefined
      : undefined;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
