export { abortable } from "./abortable.js";
export type {
  Action,
  DeliveryReceipt,
  EventStreamApi,
  EventStreamEvent,
  Logger,
  MessageApi,
  PluginFactory,
  TraceContext,
} from "./action.js";
export { definePlugin, isAction, missingOption, receiptStatus, validateOptions } from "./action.js";
export { awsSdkError, isRetryableAwsCode } from "./aws-errors.js";
export type { Batcher, BatcherOptions } from "./batcher.js";
export { createBatcher } from "./batcher.js";
export type { BrokerMessage } from "./broker-message.js";
export {
  brokerMessage,
  CLOUDEVENTS_JSON,
  eventSubject,
  renderTemplate,
  TEMPLATE_PLACEHOLDERS,
  unknownPlaceholders,
} from "./broker-message.js";
export type { ActionCache, CacheBackend, CacheRecord, CacheWriteResult } from "./cache.js";
export { CACHE_LIMITS, createActionCache } from "./cache.js";
export type { EncodedEvent } from "./encoded.js";
export { encodedEvent } from "./encoded.js";
export type { ConfigIssue, DeliveryErrorOptions, FailureKind } from "./errors.js";
export {
  ConfigError,
  classifyFailure,
  describeError,
  errorPrefix,
  PermanentError,
  RetryableError,
  SwitchyardError,
  TimeoutError,
} from "./errors.js";
export type { KnownEventType } from "./event-types.js";
export { EVENT_TYPES, isKnownEventType } from "./event-types.js";
export type {
  Auth0Event,
  CloudEvent,
  EventContext,
  EventData,
  EventOf,
  KnownAuth0Event,
  UnknownAuth0Event,
} from "./events.js";
export { isEventType, isKnownEvent } from "./events.js";
export type { ExecuteOptions, Outcome } from "./execute.js";
export { executeAction } from "./execute.js";
export type {
  CompiledFilter,
  EventFilter,
  FilterConditions,
  FilterIssue,
  FilterScalar,
} from "./filter.js";
export { compileFilter, fieldPathError, validateFilter } from "./filter.js";
export type { HttpStatusErrorOptions, HttpStatusKind } from "./http-status.js";
export { classifyHttpStatus, httpStatusError } from "./http-status.js";
export { EVENT_LIMITS, hasControlCharacter, nestedDeeperThan, utf8Length } from "./limits.js";
export type * from "./objects.js";
export type { EventParseResult, ParseResult, StreamErrorBody, StreamMessage } from "./parse.js";
export { ParseError, parseCloudEvent, parseStreamMessage } from "./parse.js";
export {
  createMatcher,
  createPatternTable,
  expandEventTypes,
  matchesPattern,
  patternError,
} from "./patterns.js";
export { compileRedaction, redactPathError, redactPathSegments } from "./redact-paths.js";
export type { BackoffOptions } from "./retry.js";
export { backoffDelay, parseRetryAfter } from "./retry.js";
export type { StandardSchemaV1 } from "./standard-schema.js";
export { subjectOf } from "./subject.js";
