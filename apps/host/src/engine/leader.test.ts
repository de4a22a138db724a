import { waitFor } from "@switchyard/testing";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { createMetrics } from "../metrics.js";
import type { Leadership } from "../store/types.js";
import { leadStream } from "./leader.js";
import { newStreamStatus, type StreamStatus } from "./status.js";

const log = pino({ level: "silent" });

/** A lease this test hands out by hand: `holder` is who has it; `down` makes the database unreachable. */
function handLease(replicaId: string) {
  const lease = { holder: undefined as string | undefined, down: false, released: 0, asked: 0, peers: 0 };
  const leadership: Leadership = {
    replicaId,
    leaseMs: 300,
    async acquire() {
      lease.asked++;
      if (lease.down) throw new Error("connection refused");
      lease.holder ??= replicaId;
      return lease.holder === replicaId;
    },
    async release() {
      lease.released++;
      if (lease.holder === replicaId) lease.holder = undefined;
    },
    async leader() {
      return lease.holder;
    },
    async peers() {
      if (lease.down) throw new Error("connection refused");
      return lease.peers;
    },
  };
  return { lease, leadership };
}

/** A reader that counts starts and stops, and can be failed from the test. */
function fakeReader() {
  const reader = { starts: 0, stops: 0, fail: (_: Error) => {} };
  const read = async (onFailure: (error: Error) => void) => {
    reader.starts++;
    reader.fail = onFailure;
    return async () => {
      reader.stops++;
    };
  };
  return { reader, read };
}

describe("leadStream", () => {
  it("alone on its state, reads from start to stop, and a failure is fatal", async () => {
    const { reader, read } = fakeReader();
    const status: StreamStatus = newStreamStatus();
    const fatal: Error[] = [];
    const leader = leadStream({
      leadership: undefined,
      read,
      status,
      metrics: createMetrics().source("default"),
      log,
      fatal: (e) => fatal.push(e),
    });
    await waitFor(() => reader.starts === 1);
    expect(status.leading).toBe(true);
    reader.fail(new Error("boom"));
    expect(fatal.map((e) => e.message)).toEqual(["boom"]);
    await leader.stop();
    expect(reader.stops).toBe(1);
  });

  it("with shared state, reads only while it holds the lease, steps down when it loses it, and takes it back", async () => {
    const { lease, leadership } = handLease("a");
    const { reader, read } = fakeReader();
    const status: StreamStatus = newStreamStatus();
    const metrics = createMetrics();
    lease.holder = "b";
    const leader = leadStream({
      leadership,
      read,
      status,
      metrics: metrics.source("default"),
      log,
      fatal: () => {},
    });
    try {
      await waitFor(() => lease.asked >= 2);
      expect(reader.starts).toBe(0);
      expect(status.leading).toBe(false);
      lease.holder = undefined; // b's lease expired
      await waitFor(() => reader.starts === 1);
      expect(status.leading).toBe(true);
      expect(await metrics.registry.getSingleMetricAsString("switchyard_stream_leader")).toMatch(/ 1$/);
      lease.holder = "b"; // b took over (a was paused, say)
      await waitFor(() => reader.stops === 1);
      expect(status.leading).toBe(false);
      lease.holder = undefined;
      await waitFor(() => reader.starts === 2);
      // A fenced ingest (or any stream failure) steps down at once; the next renewal decides again.
      lease.holder = "b";
      reader.fail(new Error("fenced"));
      await waitFor(() => reader.stops === 2);
      expect(status.leading).toBe(false);
      // An unreachable database: a leader steps down rather than read what it may not commit.
      lease.holder = undefined;
      await waitFor(() => reader.starts === 3);
      lease.down = true;
      await waitFor(() => reader.stops === 3);
      lease.down = false;
      await waitFor(() => reader.starts === 4);
    } finally {
      await leader.stop();
    }
    expect(reader.stops).toBe(4);
    expect(lease.released).toBe(1);
    expect(lease.holder).toBeUndefined();
  });

  it("a standby logs its role and who leads, once, and again when the leader changes", async () => {
    const { lease, leadership } = handLease("a");
    const { reader, read } = fakeReader();
    const lines: Array<Record<string, unknown>> = [];
    const recording = pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    lease.holder = "b";
    const leader = leadStream({
      leadership,
      read,
      status: newStreamStatus(),
      metrics: createMetrics().source("default"),
      log: recording,
      fatal: () => {},
    });
    const standby = () => lines.filter((l) => l.role === "standby");
    try {
      await waitFor(() => lease.asked >= 4);
      expect(standby()).toEqual([
        expect.objectContaining({
          replica: "a",
          leader: "b",
          msg: "standby: another replica reads the stream; this one delivers and takes over if it stops",
        }),
      ]);
      lease.holder = "c"; // c took over from b
      await waitFor(() => standby().length === 2);
      expect(standby()[1]).toMatchObject({ leader: "c" });
      lease.holder = undefined;
      await waitFor(() => reader.starts === 1);
      expect(lines.find((l) => l.role === "leader")).toMatchObject({ replica: "a" });
    } finally {
      await leader.stop();
    }
  });

  it("while leading, tells whether another replica is alive (the reader reads ahead only then)", async () => {
    const { lease, leadership } = handLease("a");
    const { read } = fakeReader();
    const told: boolean[] = [];
    const leader = leadStream({
      leadership,
      read,
      status: newStreamStatus(),
      metrics: createMetrics().source("default"),
      log,
      fatal: () => {},
      onPeers: (alive) => told.push(alive),
    });
    try {
      await waitFor(() => told.length >= 1);
      expect(told.at(-1)).toBe(false);
      lease.peers = 1;
      await waitFor(() => told.at(-1) === true);
      lease.peers = 0;
      await waitFor(() => told.at(-1) === false);
    } finally {
      await leader.stop();
    }
  });
});
