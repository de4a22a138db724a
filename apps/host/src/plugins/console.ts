import { definePlugin } from "@switchyard/core";
import { z } from "zod";

/** The built-in `console` plugin: one line per event on stdout; handy for the demo and for debugging. */
export default definePlugin({
  name: "console",
  options: z.strictObject({ format: z.enum(["line", "json"]).default("line") }),
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
      const text =
        format === "json"
          ? JSON.stringify(message)
          : `${message.time}  ${message.type.padEnd(34)} ${String(subject).padEnd(40)} ${message.id}${message.a0purpose === "test" ? "  [test]" : ""}`;
      process.stdout.write(`${text}\n`);
    },
  }),
});
