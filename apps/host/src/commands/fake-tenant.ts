import { type Command, InvalidArgumentError } from "commander";
import { startTrickleTenant } from "../fake-tenant.js";

/**
 * `switchyard fake-tenant`: a fake Auth0 tenant on 127.0.0.1 that emits realistic events, for pointing a
 * config (or any stream client) at without credentials. Prints the variables to start a host with.
 */
export function registerFakeTenant(program: Command): void {
  program
    .command("fake-tenant")
    .description("run a fake Auth0 tenant on 127.0.0.1 that emits realistic events (no credentials)")
    .option("--port <port>", "port to listen on (default: any free port)", portArg)
    .option("--rate <events>", "events per second", rateArg, 2)
    .option("--types <types>", "comma-separated event types to emit (default: a mix like a real tenant's)")
    .action(async (options: { port?: number; rate: number; types?: string }) => {
      const types = options.types
        ?.split(",")
        .map((t) => t.trim())
        .filter(Boolean);
      const tenant = await startTrickleTenant({ eventsPerSecond: options.rate, types, port: options.port });
      process.stdout.write(
        [
          `fake Auth0 tenant at ${tenant.url}, ${options.rate} events/s. Point a config's source at it:`,
          "",
          `  AUTH0_DOMAIN=${tenant.url}`,
          `  AUTH0_CLIENT_ID=${tenant.clientId}`,
          `  AUTH0_CLIENT_SECRET=${tenant.clientSecret}`,
          "",
          "Ctrl-C stops it.",
          "",
        ].join("\n"),
      );
      const stop = () => void tenant.close().then(() => process.exit(0));
      process.on("SIGINT", stop);
      process.on("SIGTERM", stop);
    });
}

function portArg(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new InvalidArgumentError("a port, 0-65535");
  return port;
}

function rateArg(value: string): number {
  const rate = Number(value);
  if (!Number.isFinite(rate) || rate <= 0 || rate > 10_000)
    throw new InvalidArgumentError("events per second, > 0");
  return rate;
}
