// `@switchyard/testing/vitest`: the conformance suite, kept out of the main entry because it imports vitest,
// and the main entry is loaded at run time by the host (`switchyard run-action`, the demo), where no test
// framework is installed.
export type { ConformanceDestination, ConformanceSuite } from "./conformance.js";
export { testAction } from "./conformance.js";
export type { DestinationMessage, DestinationSuite, DestinationTarget } from "./destination.js";
export { describeDestination } from "./destination.js";
