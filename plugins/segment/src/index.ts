import { definePlugin } from "@switchyard/core";
import { segmentOptionsSchema } from "./options.js";
import { createSegmentAction } from "./segment-action.js";

export type {
  AliasCall,
  CallCommon,
  GroupCall,
  IdentifyCall,
  PageCall,
  SegmentCall,
  TrackCall,
} from "./calls.js";
export type { MappingOverride } from "./default-mapping.js";
export { defaultCalls, titleCase } from "./default-mapping.js";
export { classifySegmentFailure, isRetryableStatus } from "./failures.js";
export type { Mapping, MappingEntry, MappingFunction } from "./mapping.js";
export type { ResolvedSegmentOptions, SegmentOptions } from "./options.js";
export { segmentOptionsSchema } from "./options.js";

/** Send Auth0 events to Segment as track / identify / group calls: `segment({ writeKey })`. */
const segment = definePlugin({
  name: "segment",
  options: segmentOptionsSchema,
  create: createSegmentAction,
});

export default segment;
