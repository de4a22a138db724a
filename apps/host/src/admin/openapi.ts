import { z } from "zod";
import type { Route } from "./route.js";
import * as wire from "./schemas.js";
import { ErrorAnswer } from "./schemas.js";

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

/** One route's operation: its parameters, body, answers and who may call it. */
function operation(route: Route): Json {
  const params = [...route.path.matchAll(/\{([^}]+)\}/g)].map(([, name]) => ({
    name,
    in: "path",
    required: true,
    ...(route.params?.[name!] ? { description: route.params[name!] } : {}),
    schema: { type: "string" },
  }));
  const query = route.query ? parameters(route.query) : [];
  const responses: Json = {
    "200": json(route.answer, route.summary),
    "400": json(ErrorAnswer, "The request is invalid: `error` says which field and why"),
  };
  if (route.role !== "anyone") {
    responses["401"] = json(ErrorAnswer, "The server has admin tokens and the request carried none of them");
  }
  if (route.role === "operator") {
    responses["403"] = json(ErrorAnswer, "The request's token is a viewer's: it may not change anything");
  }
  return {
    summary: route.summary,
    ...(route.role === "anyone" ? { security: [{}] } : {}),
    "x-switchyard-role": route.role,
    ...(params.length + query.length > 0 ? { parameters: [...params, ...query] } : {}),
    ...(route.body
      ? { requestBody: { required: true, content: { "application/json": { schema: ref(route.body) } } } }
      : {}),
    responses,
  };
}

let document: Json | undefined;

/**
 * The OpenAPI 3.1 document of the admin API, generated from its route table (routes.ts) and the zod schemas
 * the handlers validate with and answer to (schemas.ts); OpenAPI 3.1's schema objects are JSON Schema
 * 2020-12, which zod emits.
 */
export function openApiDocument(version: string, routes: readonly Route[]): Json {
  if (document) return document;
  const registry = z.registry<{ id: string; description?: string }>();
  for (const schema of named) registry.add(schema, z.globalRegistry.get(schema) as { id: string });
  const { schemas } = z.toJSONSchema(registry, {
    target: "draft-2020-12",
    uri: (id) => `#/components/schemas/${id}`,
  }) as { schemas: Record<string, Json> };
  for (const schema of Object.values(schemas)) delete schema.$schema;
  const paths: Record<string, Json> = {};
  for (const route of routes) {
    paths[route.path] = { ...paths[route.path], [route.method.toLowerCase()]: operation(route) };
  }
  document = {
    openapi: "3.1.0",
    info: {
      title: "Switchyard admin API",
      version,
      description:
        "The operator console's API. Changes are POSTs of application/json. With admin tokens " +
        "(server.adminToken, server.adminTokens), every call but /api/whoami needs `Authorization: Bearer <token>`; " +
        "a viewer's token reads everything and changes nothing (403), an operator's also changes. " +
        "`x-switchyard-role` says which role each operation needs.",
    },
    components: {
      schemas,
      securitySchemes: { adminToken: { type: "http", scheme: "bearer" } },
    },
    security: [{}, { adminToken: [] }],
    paths,
  };
  return document;
}
