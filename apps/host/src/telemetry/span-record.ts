import type { OtlpProtocol } from "./types.js";

// The spans as the host's main thread hands them to the export thread (export-thread.ts): plain values, FIELDS
// per span, one flat array per message, so that the main thread makes no object per span and the message is
// cheap to copy. Shared by both sides; no OpenTelemetry code here.

/** What a span is; its name and kind follow from it. */
export const SpanOf = { StreamIntake: 0, WebhookIntake: 1, Attempt: 2 } as const;

/** Where each value of a span sits in its FIELDS slots. */
export const Field = {
  Of: 0,
  TraceId: 1,
  SpanId: 2,
  /** The parent's span id, or "" (a root span). */
  ParentSpanId: 3,
  /** The trace's `tracestate`, or undefined. */
  TraceState: 4,
  /** Start and end: `performance.now()` of the main thread (ms), whose time origin the thread is told. */
  Start: 5,
  End: 6,
  EventId: 7,
  EventType: 8,
  /** An attempt's action; an intake's end (`stored`, `duplicate`, `failed`). */
  Action: 9,
  Plugin: 10,
  Attempt: 11,
  /** `delivered`, `retrying`, `dead`, `interrupted`. */
  Outcome: 12,
  HttpStatus: 13,
  ErrorType: 14,
  /** The redacted, bounded error text (the span's status message). */
  ErrorMessage: 15,
} as const;

export const FIELDS = 16;

/** What the export thread is started with. */
export interface ExportThreadData {
  url: string | undefined;
  headers: Record<string, string>;
  protocol: OtlpProtocol;
  serviceName: string;
  version: string;
  /** The main thread's `performance.timeOrigin`, to turn its `performance.now()` times into epoch times. */
  timeOrigin: number;
}

/** Main thread to export thread. */
export type ToExportThread = { spans: unknown[] } | { shutdown: true };

/** Export thread to main thread. */
export type FromExportThread =
  | { ready: true }
  | { warn: { spans: number; error: string | undefined } }
  | { closed: true };
