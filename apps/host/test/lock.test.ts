import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";
import { waitFor } from "@switchyard/testing";
import { afterEach, describe, expect, it } from "vitest";
import { lockStateDir } from "../src/lock.js";

const HOLDER = fileURLToPath(new URL("./fixtures/lock-holder.ts", import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
const NODE_ARGS = ["--conditions=@switchyard/source", "--import", TSX, HOLDER];

type Reply = { ok: true; pid?: number } | { ok: false; error: string };

/** A lock-holder process (test/fixtures/lock-holder.ts): one command in, one JSON reply out. */
class Holder {
  readonly replies: Reply[] = [];
  private waiters: Array<{ resolve: (reply: Reply) => void; reject: (error: Error) => void }> = [];

  constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const reply = JSON.parse(line) as Reply;
      const waiter = this.waiters.shift();
      if (waiter) waiter.resolve(reply);
      else this.replies.push(reply);
    });
    child.on("exit", (code, signal) => {
      for (const waiter of this.waiters.splice(0)) {
        waiter.reject(new Error(`the holder exited (${code ?? signal}) before replying`));
      }
    });
  }

  static start(prefix: string[] = []): Holder {
    const [command, ...args] = [...prefix, process.execPath, ...NODE_ARGS];
    const holder = new Holder(spawn(command!, args, { stdio: ["pipe", "pipe", "inherit"] }));
    holders.push(holder);
    return holder;
  }

  send(line: string): Promise<Reply> {
    const reply = new Promise<Reply>((resolve, reject) => {
      const early = this.replies.shift();
      if (early) resolve(early);
      else this.waiters.push({ resolve, reject });
    });
    this.child.stdin!.write(`${line}\n`);
    return reply;
  }

  lock(dir: string, { at = 0, waitMs = 2_000 } = {}): Promise<Reply> {
    return this.send(`lock ${dir} ${at} ${waitMs}`);
  }
}

const holders: Holder[] = [];
const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-lock-"));
  dirs.push(dir);
  return dir;
};

afterEach(() => {
  for (const holder of holders.splice(0)) holder.child.kill("SIGKILL");
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("lockStateDir", () => {
  it("refuses a second lock in the same process until the first is released", () => {
    const dir = tempDir();
    const unlock = lockStateDir(dir);
    expect(() => lockStateDir(dir, 100)).toThrow(
      `another switchyard host (pid ${process.pid} on ${hostname()}) is using the state folder ${dir}`,
    );
    // The refused attempt did not disturb the holder's lock.
    expect(() => lockStateDir(dir, 100)).toThrow(/another switchyard host/);
    unlock();
    const again = lockStateDir(dir);
    again();
    unlock(); // twice is harmless
  });

  it("refuses another process, naming the holder's pid, and lets it in once released", async () => {
    const dir = tempDir();
    const holder = Holder.start();
    const locked = await holder.lock(dir);
    expect(locked).toMatchObject({ ok: true });
    const pid = (locked as { pid: number }).pid;
    expect(() => lockStateDir(dir, 100)).toThrow(
      `another switchyard host (pid ${pid} on ${hostname()}) is using the state folder ${dir}`,
    );
    // Reading the pid from the file did not drop the holder's lock either.
    expect(() => lockStateDir(dir, 100)).toThrow(/another switchyard host/);
    await holder.send("unlock");
    lockStateDir(dir)();
  });

  it("is free the instant its holder is SIGKILLed, before the holder is reaped", async () => {
    const dir = tempDir();
    const holder = Holder.start();
    expect(await holder.lock(dir)).toMatchObject({ ok: true });
    const pid = holder.child.pid!;
    holder.child.kill("SIGKILL");
    // Synchronous from here: libuv reaps children on the event loop, so the holder cannot be reaped yet.
    const unlock = lockStateDir(dir);
    const state = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.charAt(0);
    unlock();
    expect(state).toBe("Z"); // dead, not yet reaped: the case a pid file got wrong
  });

  it("lets exactly one of two processes racing at the same instant win, round after round", async () => {
    const [a, b] = [Holder.start(), Holder.start()];
    // The first command pays for the module loading, so the rounds race warm processes.
    await Promise.all([a.send("unlock"), b.send("unlock")]);
    const rounds = 20;
    for (let round = 0; round < rounds; round++) {
      // Half the rounds race to create the lock file, half race for one that exists.
      const dir = round % 2 === 0 || dirs.length === 0 ? tempDir() : dirs.at(-1)!;
      const at = Date.now() + 30;
      const replies = await Promise.all([a.lock(dir, { at, waitMs: 500 }), b.lock(dir, { at, waitMs: 500 })]);
      const winners = replies.filter((reply) => reply.ok);
      expect(winners, `round ${round}: ${JSON.stringify(replies)}`).toHaveLength(1);
      expect(replies.find((reply) => !reply.ok)).toMatchObject({
        error: expect.stringMatching(
          /^another switchyard host \(pid \d+ on [^)]+\) is using the state folder/,
        ),
      });
      await Promise.all([a.send("unlock"), b.send("unlock")]);
    }
  }, 60_000);

  it("takes its lock again when the lock file is deleted while it is held", async () => {
    const dir = tempDir();
    const lost: Error[] = [];
    const unlock = lockStateDir(dir, 2_000, (error) => lost.push(error));
    rmSync(join(dir, "host.lock"));
    await waitFor(() => existsSync(join(dir, "host.lock")));
    // Held again: another host is refused, as before.
    await waitFor(() => {
      try {
        lockStateDir(dir, 50)();
        return false;
      } catch (error) {
        return /another switchyard host/.test((error as Error).message);
      }
    });
    const other = Holder.start();
    expect(await other.lock(dir, { waitMs: 100 })).toMatchObject({ ok: false });
    expect(lost).toEqual([]);
    unlock();
    expect(await other.lock(dir)).toMatchObject({ ok: true });
  });

  it("says so when another host holds the lock file now at its path", async () => {
    const dir = tempDir();
    const lost: Error[] = [];
    const unlock = lockStateDir(dir, 2_000, (error) => lost.push(error));
    // Another host's lock file, held, moved over this one's.
    const elsewhere = tempDir();
    const other = Holder.start();
    const { pid } = (await other.lock(elsewhere)) as { pid: number };
    renameSync(join(elsewhere, "host.lock"), join(dir, "host.lock"));
    await waitFor(() => lost.length > 0);
    expect(lost[0]!.message).toBe(
      `the lock file ${join(dir, "host.lock")} was deleted or replaced while this host ran, and another switchyard host (pid ${pid}) is using the state folder ${dir}: this host stops`,
    );
    unlock();
  });

  const unshare = spawnSync("unshare", ["--pid", "--fork", "--mount-proc", "true"]).status === 0;
  it.skipIf(!unshare)(
    "keeps out a second host that is also pid 1 in its own pid namespace (needs root and unshare)",
    async () => {
      const dir = tempDir();
      const namespace = ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child"];
      const [first, second] = [Holder.start(namespace), Holder.start(namespace)];
      expect(await first.lock(dir)).toEqual({ ok: true, pid: 1 });
      expect(await second.lock(dir, { waitMs: 200 })).toEqual({
        ok: false,
        error: `another switchyard host (pid 1 on ${hostname()}) is using the state folder ${dir}`,
      });
      first.child.kill("SIGKILL"); // unshare passes it on to its pid 1, and the namespace dies with it
      expect(await second.lock(dir)).toEqual({ ok: true, pid: 1 });
    },
  );
});
