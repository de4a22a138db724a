/** Fields every Segment call may carry. Missing ids, `messageId` and `timestamp` are filled in from the event. */
export interface CallCommon {
  userId?: string | undefined;
  anonymousId?: string | undefined;
  messageId?: string | undefined;
  timestamp?: string | Date | undefined;
  context?: Record<string, unknown> | undefined;
  integrations?: Record<string, unknown> | undefined;
}

/** `analytics.track(…)`: something that happened. */
export interface TrackCall extends CallCommon {
  type: "track";
  event: string;
  properties?: Record<string, unknown> | undefined;
}

/** `analytics.identify(…)`: who the user is. */
export interface IdentifyCall extends CallCommon {
  type: "identify";
  traits?: Record<string, unknown> | undefined;
}

/** `analytics.group(…)`: the user (or tenant) belongs to an account. */
export interface GroupCall extends CallCommon {
  type: "group";
  groupId: string;
  traits?: Record<string, unknown> | undefined;
}

/** `analytics.page(…)` / `analytics.screen(…)`. */
export interface PageCall extends CallCommon {
  type: "page" | "screen";
  name?: string | undefined;
  category?: string | undefined;
  properties?: Record<string, unknown> | undefined;
}

/** `analytics.alias(…)`: link two user ids. */
export interface AliasCall extends CallCommon {
  type: "alias";
  userId: string;
  previousId: string;
}

/** One Segment call an event maps to. */
export type SegmentCall = TrackCall | IdentifyCall | GroupCall | PageCall | AliasCall;

/** The kinds of Segment calls a mapping may return. */
export const CALL_TYPES: ReadonlySet<string> = new Set([
  "track",
  "identify",
  "group",
  "page",
  "screen",
  "alias",
]);

/** A call ready for the SDK: ids, `messageId` and `timestamp` are set. */
export type PreparedCall = SegmentCall & { messageId: string };
