import { z } from 'zod';
import { type Profile, zodIssues } from '../../../profiles';
import {
  actorOf,
  ADMIN_API_BASE,
  emptyQuery,
  etag,
  expectedVersion,
  findProfile,
  forbidden,
  invalidRequest,
  isAdmin,
  json,
  objectBody,
  parseQuery,
  profileIdOf,
  type Call,
  type RouteSpec,
} from './apiCall';

/** `entity.action`, as profiles/actions/actionSchema.ts names actions. */
const ACTION_KEY = /^[a-z][a-z0-9-]{0,39}\.[a-z][a-z0-9-]{0,39}$/;

const switchBody = z.strictObject({ enabled: z.boolean() });

function actionKeyOf(call: Call): string {
  const key = call.params.key ?? '';
  if (!ACTION_KEY.test(key)) {
    throw invalidRequest('path parameter', [
      { path: 'key', message: 'must be an action key (entity.action, e.g. deals.list-mine)' },
    ]);
  }
  return key;
}

function actionsOf(call: Call, profile: Profile) {
  return {
    profileId: profile.id,
    version: profile.storedVersion,
    actions: call.ctx.engine.listAdminActions(profile),
  };
}

const IF_MATCH = {
  name: 'If-Match',
  description: 'Expected profile version (as returned in `version`/ETag); 409 when it moved on',
  schema: { type: 'string' },
};

/**
 * `/admin/api/profiles/{id}/actions`: a profile's declared actions and the admins' switch per action
 * (issue 11 point 3). Same roles as changing the profile itself: admins everything, developer keys
 * custom profiles only (they may replace a custom profile's `actionSettings` with PUT anyway).
 */
export const ACTION_ROUTES: readonly RouteSpec[] = [
  {
    method: 'GET',
    path: `${ADMIN_API_BASE}/profiles/:id/actions`,
    access: 'any',
    operation: {
      operationId: 'listProfileActions',
      summary:
        "A profile's declared actions, each enabled or not and whether that is its default or an admin's choice",
      tags: ['profiles'],
      responses: {
        '200': {
          description: 'The actions (ETag = profile version)',
          schema: { $ref: '#/components/schemas/ProfileActions' },
        },
        '404': { description: 'No such profile' },
      },
    },
    async handle(call) {
      parseQuery(call.query, emptyQuery);
      const profile = await findProfile(call, profileIdOf(call));
      return json(200, actionsOf(call, profile), etag(profile.storedVersion));
    },
  },
  {
    method: 'PUT',
    path: `${ADMIN_API_BASE}/profiles/:id/actions/:key`,
    access: 'any',
    body: true,
    operation: {
      // 403 also for a custom profile defined in a profile file: its settings live in the file.
      operationId: 'setProfileActionEnabled',
      summary:
        "Enable or disable one action of a profile (saved in the profile's actionSettings; a bundled profile's in its stored override, admin keys only). Audited as action.enabled / action.disabled.",
      tags: ['profiles'],
      headers: [IF_MATCH],
      requestBody: {
        type: 'object',
        additionalProperties: false,
        required: ['enabled'],
        properties: { enabled: { type: 'boolean' } },
      },
      responses: {
        '200': {
          description: 'Saved; the action as it is now (ETag = new profile version)',
          schema: {
            type: 'object',
            required: ['profileId', 'version', 'action'],
            properties: {
              profileId: { type: 'string' },
              version: { type: 'integer' },
              action: { $ref: '#/components/schemas/ProfileAction' },
            },
          },
        },
        '404': { description: 'No such profile, or the profile declares no such action' },
        '409': { description: 'If-Match did not match the stored version' },
      },
    },
    async handle(call) {
      const id = profileIdOf(call);
      const key = actionKeyOf(call);
      if (call.ctx.engine.isBundledProfile(id) && !isAdmin(call)) {
        throw forbidden(`"${id}" is a bundled profile: developer keys manage custom profiles only`);
      }
      const parsed = switchBody.safeParse(objectBody(call.body, 'invalid-request'));
      if (!parsed.success) throw invalidRequest('body', zodIssues(parsed.error));
      const expected = expectedVersion(call.req);
      await findProfile(call, id);
      const result = await call.ctx.engine.setActionEnabled(id, key, parsed.data.enabled, actorOf(call), {
        ...(expected === undefined ? {} : { expectedVersion: expected }),
      });
      const version = result.profile.storedVersion;
      return json(200, { profileId: id, version, action: result.action }, etag(version));
    },
  },
];
