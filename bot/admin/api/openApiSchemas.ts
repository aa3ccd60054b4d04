import { z } from 'zod';
import { CONNECTION_STATUSES, profileSchema, systemOverrideSchema } from '../../../profiles';
import { describeActionFields, profileActionSchema } from './actionOpenApiSchemas';
import { errorSchema, properties, withoutMeta, type JsonSchema } from './jsonSchemaParts';

/** The component schemas of the admin API's OpenAPI document (bot/admin/api/openApi.ts). */

export type { JsonSchema } from './jsonSchemaParts';

/** A profile body as the API takes it: clientSecret write-only, no env references (files only). */
function profileInputSchema(): JsonSchema {
  const schema = withoutMeta(z.toJSONSchema(profileSchema, { io: 'input' }) as JsonSchema);
  const props = { ...properties(schema) };
  describeActionFields(props);
  delete props.clientIdEnv;
  delete props.clientSecretEnv;
  props.clientSecret = {
    ...props.clientSecret,
    writeOnly: true,
    description: 'Write-only: stored encrypted, never returned; omit it on PUT to keep the stored one',
  };
  props.kind = { type: 'string', enum: ['custom'], default: 'custom' };
  return {
    ...schema,
    description:
      'A custom profile (the same JSON as a profile file). URLs must be https (http only on loopback in dev).',
    properties: props,
  };
}

function systemOverrideInputSchema(): JsonSchema {
  const schema = withoutMeta(z.toJSONSchema(systemOverrideSchema, { io: 'input' }) as JsonSchema);
  const props = { ...properties(schema) };
  describeActionFields(props);
  props.clientSecret = {
    ...props.clientSecret,
    writeOnly: true,
    description: 'Write-only: stored encrypted, never returned',
  };
  return {
    ...schema,
    description:
      'What may be changed on a bundled (system) profile: credentials and allowed settings, never URLs',
    properties: props,
  };
}

/** A profile as the API shows it: output shape without clientSecret, plus status fields. */
function profileViewSchema(): JsonSchema {
  const schema = withoutMeta(z.toJSONSchema(profileSchema, { io: 'output' }) as JsonSchema);
  const props: Record<string, JsonSchema> = { ...properties(schema) };
  delete props.clientSecret;
  describeActionFields(props);
  const required = ((schema.required ?? []) as string[]).filter((name) => name !== 'clientSecret');
  const counts = {
    type: 'object',
    additionalProperties: false,
    required: [...CONNECTION_STATUSES],
    properties: Object.fromEntries(CONNECTION_STATUSES.map((status) => [status, { type: 'integer' }])),
  };
  return {
    type: 'object',
    additionalProperties: false,
    required: [
      ...required,
      'refreshUrl',
      'hasClientSecret',
      'source',
      'version',
      'missing',
      'usable',
      'unreadableSecret',
      'connections',
    ],
    properties: {
      ...props,
      refreshUrl: { type: 'string' },
      hasClientSecret: {
        type: 'boolean',
        description: 'Whether a client secret is set (the secret itself is never shown)',
      },
      source: { type: 'string', enum: ['system', 'file', 'store'] },
      version: {
        type: 'integer',
        description: 'Stored version (0 when nothing is stored); send it as If-Match',
      },
      missing: {
        type: 'array',
        items: { type: 'string' },
        description: 'What must be set before the profile can be used',
      },
      usable: { type: 'boolean' },
      unreadableSecret: {
        description:
          'The stored client secret does not open with the keys in ENCRYPTION_KEYS: the key id it names (null when none is unreadable)',
        anyOf: [{ $ref: '#/components/schemas/UnreadableSecret' }, { type: 'null' }],
      },
      connections: { ...counts, description: 'Connections of this profile by status' },
      organizationConnection: {
        description: 'Admin keys, pre-authorized profiles: the organisation connection, null when none',
        anyOf: [
          {
            type: 'object',
            required: ['id', 'status', 'lastError', 'updatedAt'],
            properties: {
              id: { type: 'string' },
              status: { $ref: '#/components/schemas/ConnectionStatus' },
              lastError: { type: ['string', 'null'] },
              updatedAt: { type: 'integer' },
            },
          },
          { type: 'null' },
        ],
      },
    },
  };
}

export function componentSchemas(): Record<string, JsonSchema> {
  return {
    Error: errorSchema(),
    ProfileInput: profileInputSchema(),
    SystemOverride: systemOverrideInputSchema(),
    ProfileView: profileViewSchema(),
    ProfileAction: profileActionSchema(),
    ProfileActions: {
      type: 'object',
      additionalProperties: false,
      required: ['profileId', 'version', 'actions'],
      properties: {
        profileId: { type: 'string' },
        version: { type: 'integer', description: 'Stored profile version; send it as If-Match' },
        actions: { type: 'array', items: { $ref: '#/components/schemas/ProfileAction' } },
      },
    },
    SaveResult: {
      type: 'object',
      required: ['profile', 'created', 'connectionsMarked'],
      properties: {
        profile: { $ref: '#/components/schemas/ProfileView' },
        created: { type: 'boolean' },
        connectionsMarked: {
          type: 'integer',
          description: 'Connections marked needs-reauthorization because the client, scopes or URLs changed',
        },
      },
    },
    UnreadableSecret: {
      type: 'object',
      additionalProperties: false,
      required: ['keyId', 'code'],
      properties: {
        keyId: {
          type: ['string', 'null'],
          description:
            'The encryption key id the stored value names (null when it is not an encrypted value)',
        },
        code: { type: 'string', enum: ['encryption-key-unknown', 'decryption-failed'] },
      },
    },
    ConnectionStatus: {
      type: 'string',
      enum: [...CONNECTION_STATUSES],
    },
    ConnectionSummary: {
      type: 'object',
      additionalProperties: false,
      required: [
        'id',
        'profileId',
        'subjectKey',
        'name',
        'isDefault',
        'status',
        'scopes',
        'declinedScopes',
        'expiresAt',
        'expiresAtEstimated',
        'lastError',
        'account',
        'apiBaseUrl',
        'createdAt',
        'updatedAt',
        'refreshedAt',
        'createdBy',
        'unreadable',
      ],
      properties: {
        id: { type: 'string' },
        profileId: { type: 'string' },
        subjectKey: {
          type: 'string',
          description:
            '`org`, `user:<channel>:<user id>`, or `user:<channel>:<user id>:bot=<app id>` for a user of another bot (token service)',
        },
        name: {
          type: ['string', 'null'],
          description:
            'The connection name (`work`) of one of several accounts; null for the default (unnamed) one',
        },
        isDefault: {
          type: 'boolean',
          description:
            'Used when no connection name is given (the unnamed one unless the user chose another)',
        },
        status: { $ref: '#/components/schemas/ConnectionStatus' },
        scopes: { type: 'array', items: { type: 'string' }, description: 'The scopes granted' },
        declinedScopes: {
          type: 'array',
          items: { type: 'string' },
          description:
            'Scopes its last consent asked for that the provider did not grant (the user declined them); empty when none or unknown',
        },
        expiresAt: { type: 'integer', description: 'Epoch milliseconds' },
        expiresAtEstimated: { type: 'boolean' },
        lastError: {
          type: ['string', 'null'],
          description:
            'Stable code, then what the provider answered (e.g. `refresh-refused: HTTP 400, no error code`)',
        },
        account: {
          description: 'Who signed in at the provider (verified OpenID Connect ID token); null otherwise',
          anyOf: [
            {
              type: 'object',
              additionalProperties: false,
              required: ['sub', 'email', 'name'],
              properties: {
                sub: { type: 'string' },
                email: { type: ['string', 'null'] },
                name: { type: ['string', 'null'] },
              },
            },
            { type: 'null' },
          ],
        },
        apiBaseUrl: {
          type: ['string', 'null'],
          description: "API base URL the provider assigned to this connection (profile's apiBaseUrlFrom)",
        },
        createdAt: { type: 'integer' },
        updatedAt: { type: 'integer' },
        refreshedAt: { type: ['integer', 'null'] },
        createdBy: { type: 'string' },
        unreadable: {
          description:
            'Its tokens are sealed with a key not in ENCRYPTION_KEYS: the key id (null when they can be opened)',
          anyOf: [{ $ref: '#/components/schemas/UnreadableSecret' }, { type: 'null' }],
        },
      },
    },
    ConnectionCheck: {
      type: 'object',
      required: ['ok', 'reason', 'refreshed', 'ms'],
      properties: {
        ok: { type: 'boolean' },
        reason: {
          type: 'string',
          description:
            '`ok`, `no-check-url`, `not-connected`, `needs-reauthorization`, `pending-verification`, `provider-unavailable`, `rejected`, `http-<status>`, `unexpected-answer`, `unreachable`, `outbound-refused`, `profile-not-found`, `not-linked`',
        },
        status: { type: 'integer', description: 'HTTP status of the checkUrl, when it was called' },
        refreshed: { type: 'boolean' },
        detail: {
          type: 'string',
          description:
            "For `outbound-refused`: the refused host and address (SECURITY.md #41, #42); otherwise what the provider answered: the connection's lastError, or the API's error code",
        },
        ms: { type: 'integer' },
      },
    },
    AuthorizationStarted: {
      type: 'object',
      required: ['requestId', 'authorizationUrl', 'expiresAt'],
      properties: {
        requestId: { type: 'string' },
        authorizationUrl: {
          type: 'string',
          description:
            'Open in a browser; after consent the browser lands on /admin/profiles/{id}?authorization=<outcome>',
        },
        expiresAt: { type: 'integer', description: 'Epoch milliseconds' },
      },
    },
    AuthorizationStatus: {
      type: 'object',
      required: ['connected', 'connection'],
      properties: {
        connected: { type: 'boolean', description: 'An active organisation connection exists' },
        connection: { anyOf: [{ $ref: '#/components/schemas/ConnectionSummary' }, { type: 'null' }] },
      },
    },
    Revoked: {
      type: 'object',
      required: ['revoked', 'revokedAtProvider', 'providerError'],
      properties: {
        revoked: { const: true },
        revokedAtProvider: { type: 'boolean' },
        providerError: { type: ['string', 'null'] },
      },
    },
    AuditEntry: {
      type: 'object',
      required: ['id', 'at', 'actor', 'action', 'target', 'details'],
      properties: {
        id: { type: 'string' },
        at: { type: 'integer', description: 'Epoch milliseconds' },
        actor: { type: 'string' },
        action: {
          type: 'string',
          description: 'e.g. profile.updated, authorization.completed, connection.revoked',
        },
        target: { type: 'string' },
        details: {
          type: 'object',
          additionalProperties: { type: ['string', 'number', 'boolean', 'null'] },
        },
      },
    },
    AdminKey: {
      type: 'object',
      additionalProperties: false,
      required: ['id', 'name', 'role', 'createdAt', 'revokedAt'],
      properties: {
        id: { type: 'string' },
        name: { type: 'string' },
        role: { type: 'string', enum: ['admin', 'developer'] },
        createdAt: { type: 'integer' },
        revokedAt: { type: ['integer', 'null'] },
      },
    },
    CreatedKey: {
      type: 'object',
      additionalProperties: false,
      required: ['id', 'name', 'role', 'createdAt', 'revokedAt', 'key'],
      properties: {
        id: { type: 'string' },
        name: { type: 'string' },
        role: { type: 'string', enum: ['admin', 'developer'] },
        createdAt: { type: 'integer' },
        revokedAt: { type: 'null' },
        key: { type: 'string', description: 'Shown once; send it as Authorization: Bearer <key>' },
      },
    },
  };
}
