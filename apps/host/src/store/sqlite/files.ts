// The state's files, watched. SQLite keeps writing to a database file that was deleted while it was open (its
// folder cleaned, a volume swapped under the host): every event would still be acknowledged, into a file that
// no restart finds, and with the lock file gone a second host could start on the same tenant. So the store's
// thread checks that the paths still name the files it opened; when they do not, it saves what it holds where a
// restart finds it and the host stops, saying so.
import { linkSync, mkdirSync, statSync, unlinkSync } from "node:fs";
import { dirname } from "node:path";

/**
 * What happened to the files at the database's path, if anything: the database deleted, another file in its
 * place (or in its log's), or its write-ahead log deleted alone.
 */
export type FilesChange = "deleted" | "replaced" | "log deleted";

/** The state's files are no longer the ones the store opened: the host stops (its message says what to do). */
export class StateFilesLostError extends Error {
  readonly code = "SWITCHYARD_STATE_FILES_LOST";
}

/** A file, told apart from another at the same path (a new file there has another inode); none: no file. */
export function fileIdentity(path: string): string | undefined {
  const stats = statSync(path, { throwIfNoEntry: false });
  return stats ? `${stats.dev}:${stats.ino}` : undefined;
}

/**
 * Note the files of the database `file` as they are now (the database and its write-ahead log); the function
 * returned says whether they are still those: `deleted` when the database is gone, `replaced` when another
 * file is at its path or at its log's, `log deleted` when the log alone is gone (SQLite keeps its log until
 * its last connection closes, and this one stays open).
 */
export function watchStateFiles(file: string): () => FilesChange | undefined {
  const database = fileIdentity(file);
  const log = fileIdentity(`${file}-wal`);
  // A database with no file of its own (`:memory:`) has nothing to lose.
  if (database === undefined) return () => undefined;
  return () => {
    const now = fileIdentity(file);
    if (now === undefined) return "deleted";
    if (now !== database) return "replaced";
    if (log === undefined) return undefined;
    const logNow = fileIdentity(`${file}-wal`);
    if (logNow === undefined) return "log deleted";
    return logNow !== log ? "replaced" : undefined;
  };
}

/** How the store saves what it holds: a consistent copy into a new file, and its log into the database. */
export interface Rescue {
  saveCopy(target: string): void;
  /** Copy every page of the write-ahead log into the database file; false when a reader kept some back. */
  checkpointAll(): boolean;
}

/**
 * Save what the store holds, after `change`, and return the error that stops the host. A deleted database is
 * written back to its path (through a copy beside it, linked into place only if nothing took the path
 * meanwhile); a deleted log is copied into the database at its path; a replaced one is left alone and the
 * copy is kept beside it (so too when the others cannot be done).
 */
export function rescueStateFiles(
  file: string,
  change: FilesChange,
  rescue: Rescue,
  now = Date.now(),
): StateFilesLostError {
  if (change === "log deleted") {
    try {
      if (rescue.checkpointAll()) {
        return new StateFilesLostError(
          `the state database's write-ahead log ${file}-wal was deleted while the host ran; what it held was written into ${file}. The host stops: start it again to go on`,
        );
      }
    } catch {
      // Kept beside it, below.
    }
  }
  const copy = `${file}.${change === "deleted" ? "rescued" : "orphaned"}-${now}`;
  const what =
    change === "deleted"
      ? `the state database ${file} was deleted while the host ran`
      : change === "replaced"
        ? `the state database ${file} was replaced by another file while the host ran`
        : `the state database's write-ahead log ${file}-wal was deleted while the host ran`;
  try {
    mkdirSync(dirname(file), { recursive: true });
    rescue.saveCopy(copy);
  } catch (error) {
    return new StateFilesLostError(
      `${what}, and saving this host's state failed (${(error as Error).message}): the host stops`,
    );
  }
  if (change === "deleted") {
    try {
      linkSync(copy, file);
      unlinkSync(copy);
      return new StateFilesLostError(
        `${what}; its contents were written back there. The host stops: start it again to go on`,
      );
    } catch {
      // Another file took the path meanwhile (another host?): it is left alone.
    }
  }
  return new StateFilesLostError(
    `${what}; this host's state was saved to ${copy} and ${file} is left as it is. The host stops: find out which state is right, then put it at ${file}`,
  );
}
