import { expect, test } from "vitest";
import { completeLength, Utf8ChunkDecoder } from "./utf8.js";

test("completeLength stops before a cut UTF-8 sequence", () => {
  const bytes = Buffer.from("a€😀");
  expect(completeLength(bytes)).toBe(bytes.length);
  expect(completeLength(bytes.subarray(0, 2))).toBe(1);
  expect(completeLength(bytes.subarray(0, 3))).toBe(1);
  expect(completeLength(bytes.subarray(0, 6))).toBe(4);
  expect(completeLength(Buffer.from([0xff, 0x80, 0x80, 0x80, 0x80]))).toBe(5);
});

test("decoding split at every byte gives the text back", () => {
  const text = "data: Zoë Ångström-山田 🚀\n\n";
  const bytes = Buffer.from(text);
  for (let cut = 0; cut <= bytes.length; cut++) {
    const decoder = new Utf8ChunkDecoder();
    expect(
      decoder.decode(bytes.subarray(0, cut)) + decoder.decode(bytes.subarray(cut)) + decoder.flush(),
    ).toBe(text);
  }
});
