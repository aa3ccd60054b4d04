/** Small helpers for the OpenAPI documents' JSON Schemas, made from the zod schemas. */

export type JsonSchema = Record<string, unknown>;

/** Without `$schema`: a component schema inside an OpenAPI document must not carry it. */
export function withoutMeta(schema: JsonSchema): JsonSchema {
  const { $schema: _schema, ...rest } = schema;
  return rest;
}

export function properties(schema: JsonSchema): Record<string, JsonSchema> {
  return (schema.properties ?? {}) as Record<string, JsonSchema>;
}
