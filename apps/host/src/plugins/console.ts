import { definePlugin } from "@switchyard/core";
import { z } from "zod";

/** The built-in `console` plugin: one line per event on stdout; handy for the demo and for debugging. */
export default definePlugin({
  name: "console",
  options: z.strictObject({
    format: z
      .enum(["line", "json"])
      .default("line")
      .describe("`line`: time, type, subject and id on one line; `json`: the whole event on one line"),
  }),
  create: ({ format }) => ({
    onExecuteEventStream({ message }) {
      const object = message.data.object as Record<string, unknown>;
      const nested = (key: string) => (object[key] as Record<string, unknown> | undefined) ?? {};
      const subject =
        object.email ??
        object.user_id ??
        nested("user").user_id ??
        nested("member").id ??
        object.name ??
        object.id ??
        "";
      // One event, one line: a line break in any field it prints would forge the next line.
      const text =
        format === "json"
          ? JSON.stringify(message)
          : `${printable(message.time)}  ${printable(message.type).padEnd(34)} ${printable(String(subject)).padEnd(40)} ${printable(message.id)}${message.a0purpose === "test" ? "  [test]" : ""}`;
      process.stdout.write(`${text}\n`);
    },
  }),
});

/** `text` with every control character written as a `\uXXXX` escape. */
function printable(text: string): string {
  let out = "";
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0x20 && (code < 0x7f || code > 0x9f) && code !== 0x2028 && code !== 0x2029) continue;
    out += `${text.slice(from, i)}\\u${code.toString(16).padStart(4, "0")}`;
    from = i + 1;
  }
  return from === 0 ? text : out + text.slice(from);
}
