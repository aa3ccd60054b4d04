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

/**
 * The error body every JSON API here answers with: `{ "error": { code, message, issues? } }`, plus
 * members an API adds (the execute API's `missingScopes`, ...).
 */
export function errorSchema(extra: Record<string, JsonSchema> = {}): JsonSchema {
  return {
    type: 'object',
    required: ['error'],
    properties: {
      error: {
        type: 'object',
        required: ['code', 'message'],
        properties: {
          code: { type: 'string' },
          message: { type: 'string' },
          issues: {
            type: 'array',
            items: {
              type: 'object',
              required: ['path', 'message'],
              properties: {
                path: { type: 'string', description: 'Dotted path of the field or name of the parameter' },
                message: { type: 'string' },
              },
            },
          },
          ...extra,
        },
      },
    },
  };
}
