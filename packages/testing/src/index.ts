export type { EventFactory, EventFactoryOptions, EventOverrides } from "./factories.js";
export { createEventFactory, events } from "./factories.js";
