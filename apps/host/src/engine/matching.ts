import {
  type Auth0Event,
  type CompiledFilter,
  compileFilter,
  createMatcher,
  subjectOf,
} from "@switchyard/core";
import type { ActionConfig } from "../config/schema.js";
import { orderKeyFor } from "./order-key.js";

/**
 * Which events an action gets (its patterns, its test-event setting and its content filter), and their
 * ordering key. An event it does not accept gets no delivery at all.
 */
export class ActionMatcher {
  readonly name: string;
  readonly ordered: boolean;
  private readonly matches: (type: string) => boolean;
  private readonly filter: CompiledFilter | undefined;
  private readonly orderKey: ((event: Auth0Event) => string | null) | undefined;
  /** Its keys carry the event's tenant (`a0tenant`). */
  private readonly scoped: boolean;
  /** The tenants whose events it gets; undefined: every tenant. */
  private readonly tenants: ReadonlySet<string> | undefined;

  /** `severalTenants`: the config lists several tenants (`RunnerDeps.severalTenants`). */
  constructor(
    private readonly config: ActionConfig,
    severalTenants = false,
  ) {
    this.name = config.name;
    // Serving several tenants: keys are the tenant's own (`a0tenant`), as ids may repeat across tenants.
    this.scoped = severalTenants && (config.tenants === undefined || config.tenants.length > 1);
    const key = orderKeyFor(config.orderBy);
    this.orderKey = key && this.scoped ? (event) => scopedKey(event, key(event)) : key;
    this.ordered = this.orderKey !== undefined;
    this.matches = createMatcher(config.events);
    this.tenants = config.tenants ? new Set(config.tenants) : undefined;
    // The config was validated when it loaded, so compiling cannot fail here.
    this.filter = config.filter ? compileFilter(config.filter) : undefined;
  }

  /** Whether it takes `event`, an event of `tenant` (undefined: whichever, as `send-test` asks). */
  accepts(event: Auth0Event, tenant?: string): boolean {
    if (tenant !== undefined && this.tenants !== undefined && !this.tenants.has(tenant)) return false;
    if (event.a0purpose === "test" && !this.config.testEvents) return false;
    if (!this.matches(event.type)) return false;
    return this.filter === undefined || this.filter.test(event);
  }

  /**
   * Why the action's filter rejects an event its patterns and test-event setting let through (for
   * `send-test` and people); undefined when the filter passes it, or when it never got that far.
   */
  filteredOut(event: Auth0Event): string | undefined {
    if (!this.filter || (event.a0purpose === "test" && !this.config.testEvents)) return undefined;
    if (!this.matches(event.type)) return undefined;
    return this.filter.explain(event);
  }

  /** The event's subject, for latest wins (scoped by tenant as its order keys are). */
  subjectOf(event: Auth0Event): string | undefined {
    const subject = subjectOf(event);
    return subject !== undefined && this.scoped ? (scopedKey(event, subject) ?? undefined) : subject;
  }

  keyOf(event: Auth0Event): string | null {
    return this.orderKey ? this.orderKey(event) : null;
  }
}

/** A key within the event's tenant: `<a0tenant>/<key>`. */
function scopedKey(event: Auth0Event, key: string | null): string | null {
  return key === null ? null : `${event.a0tenant}/${key}`;
}
