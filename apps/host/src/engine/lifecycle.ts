import { describeError } from "@switchyard/core";
import type { HostLogger } from "../logger.js";

/**
 * A host's lifetime. Each part registers how to stop it as it starts; `stop` runs them last-started first
 * (stop reading, let attempts finish, flush results, close actions, the ops server, the store, the lock).
 * `fail` stops the same way and rejects `done` with the error.
 */
export class Lifecycle {
  readonly done: Promise<void>;
  private readonly cleanups: Array<() => unknown> = [];
  private stopping: Promise<void> | undefined;
  private resolve!: () => void;
  private reject!: (error: unknown) => void;

  constructor(
    private readonly log: HostLogger,
    private readonly redact: (text: string) => string,
  ) {
    this.done = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.done.catch(() => {});
  }

  /** Run `cleanup` when the host stops, before everything registered earlier. */
  defer(cleanup: () => unknown): void {
    this.cleanups.push(cleanup);
  }

  get stopped(): boolean {
    return this.stopping !== undefined;
  }

  /** Stop every part; resolves `done`. */
  async stop(): Promise<void> {
    await this.shutdown();
    this.resolve();
  }

  /** Stop every part because of `error`; rejects `done` with it. */
  fail(error: unknown): void {
    if (this.stopping) return;
    this.log.fatal({ error: this.redact(describeError(error)) }, "fatal error");
    void this.shutdown().finally(() => this.reject(error));
  }

  private shutdown(): Promise<void> {
    this.stopping ??= (async () => {
      for (const cleanup of this.cleanups.reverse()) {
        try {
          await cleanup();
        } catch (error) {
          this.log.warn({ err: error }, "a part of the host failed to stop cleanly");
        }
      }
    })();
    return this.stopping;
  }
}
