/**
 * Append one event to a stream unless its id was appended within the dedupe window, atomically: Redis has
 * no idempotent XADD, and a SET NX followed by a separate XADD would lose the event if the connection
 * dropped between the two. The dedupe key holds the entry id, so a duplicate answers with the first entry.
 *
 * KEYS: stream, dedupe key. ARGV: window (ms), maxLen (0: unbounded), event id, type, CloudEvent JSON, then
 * any more field, value pairs (the trace context's `traceparent` and `tracestate`).
 * Returns [1, entry id] when appended, [0, first entry id] for a duplicate.
 */
export const APPEND_SCRIPT = `
local first = redis.call('GET', KEYS[2])
if first then return {0, first} end
local fields = {'id', ARGV[3], 'type', ARGV[4], 'event', ARGV[5]}
for i = 6, #ARGV do fields[#fields + 1] = ARGV[i] end
local entry
if tonumber(ARGV[2]) > 0 then
  entry = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', unpack(fields))
else
  entry = redis.call('XADD', KEYS[1], '*', unpack(fields))
end
redis.call('SET', KEYS[2], entry, 'PX', ARGV[1])
return {1, entry}
`;

/** The key that remembers an event id appended to `stream`: beside the stream, so one prefix holds both. */
export function dedupeKey(stream: string, eventId: string): string {
  return `${stream}:dedupe:${eventId}`;
}
