import { z } from 'zod';
import { profileSchema } from '../../../profiles';
import { properties, type JsonSchema } from './jsonSchemaParts';

/** The OpenAPI parts for a profile's actions (issue 11): field descriptions and GET /profiles/{id}/actions. */

/** What the action fields mean (docs/actions.md); their shapes come from the zod schema. */
const ACTION_FIELD_DESCRIPTIONS: Record<string, string> = {
  actions:
    'API operations chat, the execute API and the proxy may run with this profile (docs/actions.md): entity, action, method, path template under the API base, params, scopes, results, read or write',
  actionSettings:
    'Admin choices per action key (`entity.action`): `{ "enabled": true|false }`; an unlisted action is on when it reads and off when it writes, unless it says `enabledByDefault`. Change one with PUT /admin/api/profiles/{id}/actions/{key}',
  currentUser: "How to find the signed-in user's id at the API, for `{{currentUser}}` in action templates",
};

export function describeActionFields(props: Record<string, JsonSchema>): void {
  for (const [name, description] of Object.entries(ACTION_FIELD_DESCRIPTIONS)) {
    if (props[name]) props[name] = { ...props[name], description };
  }
}

/** One action as GET /profiles/{id}/actions lists it (profiles/actions/actionSwitches.ts). */
export function profileActionSchema(): JsonSchema {
  const profile = z.toJSONSchema(profileSchema, { io: 'output' }) as JsonSchema;
  const declared = properties(
    (properties(profile).actions as { items: JsonSchema } | undefined)?.items ?? {},
  );
  return {
    type: 'object',
    additionalProperties: false,
    required: [
      'key',
      'entity',
      'action',
      'title',
      'access',
      'method',
      'path',
      'params',
      'scopes',
      'phrases',
      'enabled',
      'enabledByDefault',
      'setting',
    ],
    properties: {
      key: { type: 'string', description: '`entity.action`, e.g. deals.list-mine' },
      entity: declared.entity ?? { type: 'string' },
      action: declared.action ?? { type: 'string' },
      title: { type: 'string' },
      description: { type: 'string' },
      access: { type: 'string', enum: ['read', 'write'] },
      method: declared.method ?? { type: 'string' },
      path: { type: 'string', description: "Path template under the profile's API base" },
      params: declared.params ?? { type: 'object' },
      scopes: { type: 'array', items: { type: 'string' } },
      phrases: { type: 'array', items: { type: 'string' } },
      enabled: { type: 'boolean', description: 'Whether chat, the execute API and the proxy may run it' },
      enabledByDefault: {
        type: 'boolean',
        description: 'Its state before an admin decides (reads on, writes off, unless declared)',
      },
      setting: {
        type: 'string',
        enum: ['default', 'admin'],
        description: '`admin`: actionSettings holds a choice for it; `default`: enabledByDefault applies',
      },
    },
  };
}
