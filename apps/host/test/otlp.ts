// What an OTLP/HTTP receiver started by a test or a bench makes of an export: the spans of an
// ExportTraceServiceRequest, decoded from protobuf (the exporter's default) or JSON, by its content type.
import protobuf from "protobufjs";

/** A span as the receiver decoded it. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  attributes: Record<string, string | number | boolean>;
  status: { code?: number; message?: string };
  service: string;
}

// The part of opentelemetry-proto's trace service request the tests read (field numbers as the spec's .proto
// files give them); protobufjs skips the fields not named here (events, links, flags).
const { root } = protobuf.parse(`
  syntax = "proto3";
  message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
  message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
  message Resource { repeated KeyValue attributes = 1; }
  message ScopeSpans { repeated Span spans = 2; }
  message Span {
    bytes trace_id = 1;
    bytes span_id = 2;
    bytes parent_span_id = 4;
    string name = 5;
    repeated KeyValue attributes = 9;
    Status status = 15;
  }
  message Status { string message = 2; int32 code = 3; }
  message KeyValue { string key = 1; AnyValue value = 2; }
  message AnyValue {
    oneof value { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4; }
  }
`);
const Request = root.lookupType("ExportTraceServiceRequest");

type Value = { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number };
type KeyValue = { key: string; value?: Value };
/** The request as OTLP/JSON spells it (ids in hex), which the protobuf decoding is turned into. */
interface JsonRequest {
  resourceSpans?: Array<{
    resource?: { attributes?: KeyValue[] };
    scopeSpans?: Array<{
      spans?: Array<{
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        name: string;
        attributes?: KeyValue[];
        status?: { code?: number; message?: string };
      }>;
    }>;
  }>;
}

/** The spans of one export: `bytes` and `contentType` as the receiver got them. */
export function decodeExport(bytes: Buffer, contentType: string | undefined): ReceivedSpan[] {
  const request = contentType?.startsWith("application/x-protobuf")
    ? (Request.toObject(Request.decode(bytes), { longs: Number, bytes: String }) as JsonRequest)
    : (JSON.parse(bytes.toString("utf8")) as JsonRequest);
  // protobufjs renders bytes as base64; OTLP/JSON has ids in hex.
  const id = (text: string | undefined) =>
    contentType?.startsWith("application/x-protobuf")
      ? Buffer.from(text ?? "", "base64").toString("hex")
      : (text ?? "");
  const decodeValue = (v: Value | undefined) =>
    v?.stringValue ??
    (v?.intValue !== undefined ? Number(v.intValue) : (v?.boolValue ?? v?.doubleValue ?? ""));
  const attributes = (list: KeyValue[] | undefined) =>
    Object.fromEntries((list ?? []).map((a) => [a.key, decodeValue(a.value)]));
  return (request.resourceSpans ?? []).flatMap((rs) =>
    (rs.scopeSpans ?? []).flatMap((ss) =>
      (ss.spans ?? []).map((span) => ({
        traceId: id(span.traceId),
        spanId: id(span.spanId),
        parentSpanId: id(span.parentSpanId),
        name: span.name,
        attributes: attributes(span.attributes),
        status: span.status ?? {},
        service: String(attributes(rs.resource?.attributes)["service.name"]),
      })),
    ),
  );
}
