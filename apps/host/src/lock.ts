import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** One host per state folder: a pid file, taken over when its owner is gone (e.g. after SIGKILL). */
export function lockStateDir(dir: string): () => void {
  const file = join(dir, "host.pid");
  try {
    const pid = Number(readFileSync(file, "utf8"));
    if (pid && pid !== process.pid && isAlive(pid)) {
      throw new Error(`another switchyard host (pid ${pid}) is using the state folder ${dir}`);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  writeFileSync(file, String(process.pid));
  return () => rmSync(file, { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
