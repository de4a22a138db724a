import {
  closeSync,
  existsSync,
  openSync,
  readFileSync,
  readSync,
  realpathSync,
  writeFileSync,
} from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { fileIdentity } from "./store/sqlite/files.js";

/**
 * How long to wait for a holder that is going away. A SIGKILLed host keeps its lock until the kernel has torn
 * the process down (its memory first, then its files), which can take a moment for a big heap; the winner of
 * a race also waits here for the loser to let go of its shared lock. A refusal takes this long.
 */
const LOCK_WAIT_MS = 2_000;
/** How often a running host checks that its lock file is still there, and how long it waits to take it again. */
const LOCK_CHECK_MS = 1_000;
const RELOCK_WAIT_MS = 100;
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
 * With `onLost`, the lock is watched while held (`watchLock`).
 */
export function lockStateDir(
  dir: string,
  waitMs = LOCK_WAIT_MS,
  onLost?: (error: StateInUseError) => void,
): () => void {
  const file = join(dir, "host.lock");
  let db = takeLock(dir, file, waitMs);
  const key = realpathSync(file);
  held.add(key);
  const watch =
    onLost &&
    watchLock(
      dir,
      file,
      key,
      (next) => {
        db.close();
        db = next;
      },
      onLost,
    );
  return () => {
    if (watch) clearInterval(watch);
    if (!db.open) return;
    held.delete(key);
    db.close();
  };
}

/** Take the lock of `file`, or throw who holds it; the connection returned holds it until closed. */
function takeLock(dir: string, file: string, waitMs: number): Database.Database {
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
  return db;
}

/**
 * A lock file deleted while its host runs (someone took it for a stale one) would let a second host start on
 * the same state: every second the lock file is checked, and when another file (or none) is at its path the
 * lock is taken again there; `onLost` hears when another host took it first. A folder gone altogether is the
 * store's to report (store/sqlite/files.ts).
 */
function watchLock(
  dir: string,
  file: string,
  key: string,
  relocked: (db: Database.Database) => void,
  onLost: (error: StateInUseError) => void,
): NodeJS.Timeout {
  let locked = fileIdentity(file);
  const timer = setInterval(() => {
    const now = fileIdentity(file);
    if (now === locked || !existsSync(dir)) return;
    // The lock this process holds is on the file no longer there: the one there now may be read.
    held.delete(key);
    try {
      relocked(takeLock(dir, file, RELOCK_WAIT_MS));
      held.add(key);
      locked = fileIdentity(file);
    } catch (error) {
      clearInterval(timer);
      onLost(
        new StateInUseError(
          `the lock file ${file} was deleted or replaced while this host ran, and ${(error as Error).message}: this host stops`,
        ),
      );
    }
  }, LOCK_CHECK_MS);
  timer.unref();
  return timer;
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
