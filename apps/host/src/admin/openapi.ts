import { z } from "zod";
import * as wire from "./schemas.js";
import {
  ActionStateAnswer,
  ActionsAnswer,
  ActivityAnswer,
  ActivityQuery,
  BulkAnswer,
  DeadLetterQuery,
  DeadLetterSelection,
  DeadLettersAnswer,
  DeliveriesAnswer,
  DeliveriesQuery,
  ErrorAnswer,
  EventAnswer,
  StatusAnswer,
} from "./schemas.js";

type Json = Record<string, unknown>;

/** Every schema of the wire format that names itself (`.meta({ id })`): a component, referenced by that id. */
const named = (Object.values(wire) as unknown[]).filter(
  (schema): schema is z.ZodType =>
    schema instanceof z.ZodType && z.globalRegistry.get(schema)?.id !== undefined,
);

const ref = (schema: z.ZodType) => ({ $ref: `#/components/schemas/${z.globalRegistry.get(schema)!.id}` });

/** The query parameters of a zod object, each with its JSON Schema as the API accepts it. */
function parameters(query: z.ZodObject): Json[] {
  return Object.entries(query.shape).map(([name, field]) => {
    const schema = z.toJSONSchema(field as z.ZodType, { io: "input", target: "draft-2020-12" }) as Json;
    const { description, $schema: _, ...rest } = schema;
    return { name, in: "query", required: false, ...(description ? { description } : {}), schema: rest };
  });
}

const json = (schema: z.ZodType, description: string) => ({
  description,
  content: { "application/json": { schema: ref(schema) } },
});

const errors = {
  "400": json(ErrorAnswer, "The request is invalid: `error` says which field and why"),
  "401": json(ErrorAnswer, "The server has an admin token and the request did not carry it"),
};

function operation(summary: string, answer: z.ZodType, more: Json = {}): Json {
  return { summary, ...more, responses: { "200": json(answer, summary), ...errors } };
}

const selectionBody = {
  required: true,
  content: { "application/json": { schema: ref(DeadLetterSelection) } },
};
const actionName = { name: "name", in: "path", required: true, schema: { type: "string" } };

let document: Json | undefined;

/**
 * The OpenAPI 3.1 document of the admin API, generated from the zod schemas the handlers validate with and
 * answer to (schemas.ts); OpenAPI 3.1's schema objects are JSON Schema 2020-12, which zod emits.
 */
export function openApiDocument(version: string): Json {
  if (document) return document;
  const registry = z.registry<{ id: string; description?: string }>();
  for (const schema of named) registry.add(schema, z.globalRegistry.get(schema) as { id: string });
  const { schemas } = z.toJSONSchema(registry, {
    target: "draft-2020-12",
    uri: (id) => `#/components/schemas/${id}`,
  }) as { schemas: Record<string, Json> };
  for (const schema of Object.values(schemas)) delete schema.$schema;
  document = {
    openapi: "3.1.0",
    info: {
      title: "Switchyard admin API",
      version,
      description:
        "The operator console's API. Changes are POSTs of application/json; with server.adminToken set, every call needs `Authorization: Bearer <token>`.",
    },
    components: {
      schemas,
      securitySchemes: { adminToken: { type: "http", scheme: "bearer" } },
    },
    security: [{}, { adminToken: [] }],
    paths: {
      "/api/status": { get: operation("The stream, the leader and this replica", StatusAnswer) },
      "/api/actions": {
        get: operation("Every action: state, last minute and hour, queue depth, dead letters", ActionsAnswer),
      },
      "/api/activity": {
        get: operation("Attempts per action per minute", ActivityAnswer, {
          parameters: parameters(ActivityQuery),
        }),
      },
      "/api/actions/{name}/pause": {
        post: operation("Pause an action (its deliveries wait in the store)", ActionStateAnswer, {
          parameters: [actionName],
        }),
      },
      "/api/actions/{name}/resume": {
        post: operation("Resume an action (its waiting deliveries first)", ActionStateAnswer, {
          parameters: [actionName],
        }),
      },
      "/api/deliveries": {
        get: operation("Search the delivery history, newest first, paged by cursor", DeliveriesAnswer, {
          parameters: parameters(DeliveriesQuery),
        }),
      },
      "/api/events/{eventId}": {
        get: operation("One event: its CloudEvent, deliveries and every attempt", EventAnswer, {
          parameters: [{ name: "eventId", in: "path", required: true, schema: { type: "string" } }],
        }),
      },
      "/api/dead-letters": {
        get: operation("Dead letters matching a selection, oldest first", DeadLettersAnswer, {
          parameters: parameters(DeadLetterQuery),
        }),
      },
      "/api/dead-letters/replay": {
        post: operation("Deliver the selected dead letters again", BulkAnswer, {
          requestBody: selectionBody,
        }),
      },
      "/api/dead-letters/purge": {
        post: operation("Delete the selected dead letters", BulkAnswer, { requestBody: selectionBody }),
      },
    },
  };
  return document;
}
