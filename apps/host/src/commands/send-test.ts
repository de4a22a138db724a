import { patternError } from "@switchyard/core";
import { type Command, InvalidArgumentError } from "commander";
import { sendTestEvent } from "../send-test.js";
import { type ConfigOptions, loadConfigForState, requireTenant, withConfig } from "./config-options.js";

/** `switchyard send-test <type>`: needs only the config's state part, like `dlq` and `actions`. */
export function registerSendTest(program: Command): void {
  withConfig(
    program
      .command("send-test")
      .description('inject a realistic test event (a0purpose: "test") for the running host to deliver')
      .argument("<type>", "event type, e.g. user.created", (value) => {
        const error = patternError(value);
        if (error || value.includes("*")) throw new InvalidArgumentError(error ?? "give an exact event type");
        return value;
      }),
  )
    .option("--tenant <name>", "whose event it is (a `sources` tenant; default: the first)")
    .action(async (type: string, options: ConfigOptions & { tenant?: string }) => {
      const loaded = await loadConfigForState(options);
      requireTenant(loaded, options.tenant);
      const result = await sendTestEvent(loaded, type, options.tenant);
      process.stdout.write(
        result.actions.length > 0
          ? `queued test event ${result.eventId} (${type}) for: ${result.actions.join(", ")}\n`
          : `test event ${result.eventId} (${type}) matches no action that takes test events\n`,
      );
      for (const f of result.filtered) {
        process.stdout.write(`  filtered out by actions[${f.index}].filter (${f.action}): ${f.reason}\n`);
      }
    });
}
