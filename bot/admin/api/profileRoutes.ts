import {
  CONNECTION_STATUSES,
  type ConnectionSummary,
  invalidProfile,
  ORGANIZATION,
  type Profile,
  profileSchema,
  publicProfile,
  type PublicProfile,
  zodIssues,
} from '../../../profiles';
import {
  actorOf,
  ADMIN_API_BASE,
  ApiError,
  emptyQuery,
  etag,
  expectedVersion,
  findProfile,
  forbidden,
  isAdmin,
  json,
  objectBody,
  parseQuery,
  profileIdOf,
  type Call,
  type ConnectionCounts,
  type RouteSpec,
} from './apiCall';

export interface ProfileView extends PublicProfile {
  connections: ConnectionCounts;
  /** Admin keys only: the organisation connection of a pre-authorized profile (null when none). */
  organizationConnection?: Pick<ConnectionSummary, 'id' | 'status' | 'lastError' | 'updatedAt'> | null;
}

export async function profileView(call: Call, profile: Profile): Promise<ProfileView> {
  const { engine } = call.ctx;
  const counts = {} as ConnectionCounts;
  for (const status of CONNECTION_STATUSES)
    counts[status] = await engine.countConnections({ profileId: profile.id, status });
  const view: ProfileView = { ...publicProfile(profile), connections: counts };
  if (isAdmin(call) && profile.authorization === 'pre-authorized') {
    const org = await engine.connectionOf(profile, ORGANIZATION);
    view.organizationConnection = org
      ? { id: org.id, status: org.status, lastError: org.lastError, updatedAt: org.updatedAt }
      : null;
  }
  return view;
}

/** `/admin/api/profiles`: list, create, read, replace and delete profiles. */
export const PROFILE_ROUTES: readonly RouteSpec[] = [
  {
    method: 'GET',
    path: `${ADMIN_API_BASE}/profiles`,
    access: 'any',
    operation: {
      operationId: 'listProfiles',
      summary: 'List every profile (bundled, files, stored) with connection counts by status',
      tags: ['profiles'],
      responses: {
        '200': {
          description: 'The profiles, secrets left out',
          schema: {
            type: 'object',
            required: ['profiles'],
            properties: { profiles: { type: 'array', items: { $ref: '#/components/schemas/ProfileView' } } },
          },
        },
      },
    },
    async handle(call) {
      parseQuery(call.query, emptyQuery);
      const profiles = await call.ctx.engine.listProfiles();
      const views: ProfileView[] = [];
      for (const profile of profiles) views.push(await profileView(call, profile));
      return json(200, { profiles: views });
    },
  },
  {
    method: 'POST',
    path: `${ADMIN_API_BASE}/profiles`,
    access: 'any',
    body: true,
    operation: {
      operationId: 'createProfile',
      summary: 'Create a custom profile (409 when the id exists; use PUT to replace)',
      tags: ['profiles'],
      requestBody: { $ref: '#/components/schemas/ProfileInput' },
      responses: {
        '201': { description: 'Created', schema: { $ref: '#/components/schemas/SaveResult' } },
        '409': { description: 'A profile with this id already exists' },
      },
    },
    async handle(call) {
      const body = objectBody(call.body, 'invalid-profile');
      if (typeof body.id !== 'string') {
        const parsed = profileSchema.safeParse(body);
        throw invalidProfile(
          parsed.success ? [{ path: 'id', message: 'is required' }] : zodIssues(parsed.error),
        );
      }
      const id = body.id;
      if (call.ctx.engine.isBundledProfile(id)) {
        if (!isAdmin(call))
          throw forbidden(`"${id}" is a bundled profile: developer keys manage custom profiles only`);
        throw new ApiError(409, 'conflict', `"${id}" is a bundled profile; change its settings with PUT`);
      }
      if (await call.ctx.engine.findProfile(id)) {
        throw new ApiError(409, 'conflict', `a profile "${id}" already exists; replace it with PUT`);
      }
      const result = await call.ctx.engine.saveProfile(id, body, actorOf(call), {
        expectedVersion: 0,
      });
      const profile = await profileView(call, result.profile);
      return json(
        201,
        { profile, created: true, connectionsMarked: result.connectionsMarked },
        {
          ...etag(profile.version),
          Location: `${ADMIN_API_BASE}/profiles/${encodeURIComponent(id)}`,
        },
      );
    },
  },
  {
    method: 'GET',
    path: `${ADMIN_API_BASE}/profiles/:id`,
    access: 'any',
    operation: {
      operationId: 'getProfile',
      summary: 'Read one profile (ETag = its version)',
      tags: ['profiles'],
      responses: {
        '200': {
          description: 'The profile, secret left out',
          schema: { $ref: '#/components/schemas/ProfileView' },
        },
        '404': { description: 'No such profile' },
      },
    },
    async handle(call) {
      parseQuery(call.query, emptyQuery);
      const profile = await findProfile(call, profileIdOf(call));
      const view = await profileView(call, profile);
      return json(200, view, etag(view.version));
    },
  },
  {
    method: 'PUT',
    path: `${ADMIN_API_BASE}/profiles/:id`,
    access: 'any',
    body: true,
    operation: {
      operationId: 'putProfile',
      summary:
        'Create or replace a custom profile; for a bundled profile the body is a SystemOverride (credentials and allowed settings). Changing the client, scopes or URLs marks its connections needs-reauthorization.',
      tags: ['profiles'],
      headers: [
        {
          name: 'If-Match',
          description: 'Expected profile version (as returned in `version`/ETag); 409 when it moved on',
          schema: { type: 'string' },
        },
      ],
      requestBody: {
        anyOf: [
          { $ref: '#/components/schemas/ProfileInput' },
          { $ref: '#/components/schemas/SystemOverride' },
        ],
      },
      responses: {
        '200': { description: 'Replaced', schema: { $ref: '#/components/schemas/SaveResult' } },
        '201': { description: 'Created', schema: { $ref: '#/components/schemas/SaveResult' } },
        '409': { description: 'If-Match did not match the stored version' },
      },
    },
    async handle(call) {
      const id = profileIdOf(call);
      if (call.ctx.engine.isBundledProfile(id) && !isAdmin(call)) {
        throw forbidden(`"${id}" is a bundled profile: developer keys manage custom profiles only`);
      }
      const body = objectBody(call.body, 'invalid-profile');
      const expected = expectedVersion(call.req);
      const result = await call.ctx.engine.saveProfile(id, body, actorOf(call), {
        ...(expected === undefined ? {} : { expectedVersion: expected }),
      });
      const profile = await profileView(call, result.profile);
      return json(
        result.created ? 201 : 200,
        { profile, created: result.created, connectionsMarked: result.connectionsMarked },
        etag(profile.version),
      );
    },
  },
  {
    method: 'DELETE',
    path: `${ADMIN_API_BASE}/profiles/:id`,
    access: 'any',
    operation: {
      operationId: 'deleteProfile',
      summary:
        'Delete a stored profile (a bundled one: its stored override). Its connections are revoked at the provider and removed; the audit log records it.',
      tags: ['profiles'],
      responses: {
        '200': {
          description: 'Deleted',
          schema: {
            type: 'object',
            required: ['connectionsRemoved', 'removedOverride'],
            properties: { connectionsRemoved: { type: 'integer' }, removedOverride: { type: 'boolean' } },
          },
        },
        '404': { description: 'No such profile' },
      },
    },
    async handle(call) {
      const id = profileIdOf(call);
      if (call.ctx.engine.isBundledProfile(id) && !isAdmin(call)) {
        throw forbidden(`"${id}" is a bundled profile: developer keys manage custom profiles only`);
      }
      await findProfile(call, id);
      const result = await call.ctx.engine.deleteProfile(id, actorOf(call));
      return json(200, result);
    },
  },
];
