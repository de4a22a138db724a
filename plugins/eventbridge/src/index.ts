import { definePlugin } from "@switchyard/core";
import { createEventBridgeAction } from "./eventbridge-action.js";
import { eventBridgeOptions } from "./options.js";

export type { EventBridgeOptions, ResolvedEventBridgeOptions } from "./options.js";
export { eventBridgeOptions } from "./options.js";

/**
 * Put each event on an AWS EventBridge bus (`PutEvents`): `DetailType` the event type, `Detail` the CloudEvent,
 * `Source` `auth0.<tenant>`. Concurrent deliveries share calls of up to 10 entries; a failed entry fails only
 * its own delivery.
 */
const eventbridge = definePlugin({
  name: "eventbridge",
  options: eventBridgeOptions,
  create: createEventBridgeAction,
});
export default eventbridge;
