import { type Auth0Event, createMatcher } from "@switchyard/core";
import type { ActionConfig } from "../config/schema.js";
import { orderKeyFor } from "./order-key.js";

/** Which events an action gets (its patterns and its test-event setting), and their ordering key. */
export class ActionMatcher {
  readonly name: string;
  readonly ordered: boolean;
  private readonly matches: (type: string) => boolean;
  private readonly orderKey: ((event: Auth0Event) => string | null) | undefined;

  constructor(private readonly config: ActionConfig) {
    this.name = config.name;
    this.ordered = config.orderBy !== undefined;
    this.matches = createMatcher(config.events);
    this.orderKey = config.orderBy ? orderKeyFor(config.orderBy) : undefined;
  }

  accepts(event: Auth0Event): boolean {
    if (event.a0purpose === "test" && !this.config.testEvents) return false;
    return this.matches(event.type);
  }

  keyOf(event: Auth0Event): string | null {
    return this.orderKey ? this.orderKey(event) : null;
  }
}
