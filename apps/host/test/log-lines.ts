import { Writable } from "node:stream";

/** A log destination for a host in a test: each line it writes, handed to `onLine`. */
export function lineSink(onLine: (line: string) => void): Writable {
  return new Writable({
    write(chunk, _encoding, callback) {
      for (const line of String(chunk).trim().split("\n")) onLine(line);
      callback();
    },
  });
}
