import { z } from 'zod';
import { isAuthProfilesError, ORGANIZATION, type Subject } from '../../../profiles';
import {
  actorOf,
  ADMIN_API_BASE,
  ApiError,
  findProfile,
  invalidRequest,
  json,
  objectBody,
  opaqueIdOf,
  profileIdOf,
  type RouteSpec,
} from './apiCall';

/**
 * Issue 10 points 5 and 6: import a connection from tokens obtained elsewhere, start a consent for
 * another system's user, link such a connection to a chat user. Admin keys only: each of them writes a
 * connection someone will act through.
 */

const chatUser = z.strictObject({
  channelId: z.string().min(1).max(200),
  userId: z.string().min(1).max(500),
});

const importBody = z
  .strictObject({
    profileId: z.string().min(1).max(64),
    /** A chat user, or absent with `organization: true`. */
    user: chatUser.optional(),
    organization: z.literal(true).optional(),
    refreshToken: z.string().min(1).max(8192),
    accessToken: z.string().min(1).max(8192).optional(),
  })
  .refine((body) => (body.user === undefined) !== (body.organization === undefined), {
    message: 'name exactly one of user and organization',
    path: ['user'],
  });

const consentBody = z.strictObject({
  externalUserId: z.string().min(1).max(200),
  redirectUrl: z.string().min(1).max(2048),
});

const linkBody = z.strictObject({ user: chatUser });

function parseBody<T extends z.ZodType>(body: unknown, schema: T): z.output<T> {
  const result = schema.safeParse(objectBody(body, 'invalid-request'));
  if (!result.success) {
    // Paths and messages only: a value (a token) is never echoed.
    throw invalidRequest(
      'body',
      result.error.issues.map((issue) => ({
        path: issue.path.map(String).join('.') || '(body)',
        message:
          issue.code === 'unrecognized_keys' ? `unknown field(s) ${issue.keys.join(', ')}` : issue.message,
      })),
    );
  }
  return result.data;
}

const chatUserSchema = {
  type: 'object',
  required: ['channelId', 'userId'],
  properties: { channelId: { type: 'string' }, userId: { type: 'string' } },
};

export const ACCOUNT_ROUTES: readonly RouteSpec[] = [
  {
    method: 'POST',
    path: `${ADMIN_API_BASE}/connections/import`,
    access: 'admin',
    body: true,
    operation: {
      operationId: 'importConnection',
      summary:
        "Bring your own tokens: store a connection for a chat user or the organisation from a refresh token obtained elsewhere. The refresh token is proved by a refresh at the provider first; a refused one is 400 naming the provider's answer and nothing is stored. Tokens are never echoed.",
      tags: ['connections'],
      requestBody: {
        type: 'object',
        required: ['profileId', 'refreshToken'],
        properties: {
          profileId: { type: 'string' },
          user: chatUserSchema,
          organization: { type: 'boolean', const: true },
          refreshToken: { type: 'string', description: 'Required; proved by an immediate refresh' },
          accessToken: { type: 'string', description: 'Optional; replaced by the refreshed one' },
        },
      },
      responses: {
        '201': {
          description: 'Imported',
          schema: {
            type: 'object',
            properties: { connection: { $ref: '#/components/schemas/ConnectionSummary' } },
          },
        },
        '400': { description: 'Bad body, or the provider refused the refresh token (`token-refused`)' },
        '403': { description: 'The account is not the one the profile requires (`wrong-account`)' },
        '404': { description: 'No such profile' },
      },
    },
    async handle(call) {
      const body = parseBody(call.body, importBody);
      const profile = await findProfile(call, body.profileId);
      const subject: Subject = body.user ? { kind: 'user', ...body.user } : ORGANIZATION;
      try {
        const connection = await call.ctx.engine.importConnection(
          profile,
          subject,
          { refreshToken: body.refreshToken, ...(body.accessToken ? { accessToken: body.accessToken } : {}) },
          actorOf(call).name,
        );
        return json(201, { connection });
      } catch (error) {
        if (
          isAuthProfilesError(error) &&
          (error.code === 'invalid-grant' || error.code === 'provider-error')
        ) {
          const answer = error.provider
            ? `HTTP ${error.provider.httpStatus ?? '?'}, ${error.provider.error ?? 'no error code'}`
            : 'no usable answer';
          throw new ApiError(400, 'token-refused', `the provider refused the refresh token (${answer})`, [
            { path: 'refreshToken', message: 'was refused by the provider' },
          ]);
        }
        throw error;
      }
    },
  },
  {
    method: 'POST',
    path: `${ADMIN_API_BASE}/profiles/:id/consents`,
    access: 'admin',
    body: true,
    operation: {
      operationId: 'startExternalConsent',
      summary:
        "Consent started by another system: returns a consent URL for `externalUserId`; after the callback the browser goes to `redirectUrl` (which must match one of the profile's consentRedirectUrls by origin and path) with `connection_id=<opaque id>`, or `error=<code>`. Link the connection to a chat user with POST /connections/{id}/link.",
      tags: ['connections'],
      requestBody: {
        type: 'object',
        required: ['externalUserId', 'redirectUrl'],
        properties: { externalUserId: { type: 'string' }, redirectUrl: { type: 'string', format: 'uri' } },
      },
      responses: {
        '201': {
          description: 'The consent URL to send the user to',
          schema: {
            type: 'object',
            required: ['requestId', 'consentUrl', 'expiresAt'],
            properties: {
              requestId: { type: 'string' },
              consentUrl: { type: 'string' },
              expiresAt: { type: 'integer' },
            },
          },
        },
        '400': {
          description: 'Bad body or a redirectUrl the profile does not allow (issue path `redirectUrl`)',
        },
        '404': { description: 'No such profile' },
      },
    },
    async handle(call) {
      const profile = await findProfile(call, profileIdOf(call));
      const body = parseBody(call.body, consentBody);
      const created = await call.ctx.engine.startExternalConsent(profile, body, actorOf(call).name);
      return json(201, {
        requestId: created.requestId,
        consentUrl: created.startUrl,
        expiresAt: created.expiresAt,
      });
    },
  },
  {
    method: 'POST',
    path: `${ADMIN_API_BASE}/connections/:id/link`,
    access: 'admin',
    body: true,
    operation: {
      operationId: 'linkConnection',
      summary:
        "Give a connection made through an external consent to a chat user (its tokens are sealed again for that user; the answer's connection has a new id). 409 when the user already has a connection for the profile.",
      tags: ['connections'],
      requestBody: { type: 'object', required: ['user'], properties: { user: chatUserSchema } },
      responses: {
        '200': {
          description: 'Linked',
          schema: {
            type: 'object',
            properties: { connection: { $ref: '#/components/schemas/ConnectionSummary' } },
          },
        },
        '404': { description: 'No such connection' },
        '409': { description: 'Not an external connection, or the user already has one' },
      },
    },
    async handle(call) {
      const id = opaqueIdOf(call);
      const body = parseBody(call.body, linkBody);
      const connection = await call.ctx.engine.linkConnection(
        id,
        { kind: 'user', ...body.user },
        actorOf(call).name,
      );
      return json(200, { connection });
    },
  },
];
