import type { Request, Response, Server } from 'restify';
import { z } from 'zod';
import type { AuthorizationEngine } from '../../profiles';
import { readJsonBody } from '../admin/api/jsonBody';
import type { Logger } from '../logger';
import { fieldIssues } from '../tokenService/requests';
import { callerLabel, type ActionCallerAuthenticator } from './actionCaller';
import { executeFailure, executeResult } from './actionOutcomes';
import { auditCall, failureOf } from './callRecords';
import { connectionTarget, selectionFields, usableProfile } from './connectionTarget';
import { actionsOpenApiDocument } from './actionsOpenApi';
import { ApiError, sendError, sendJson } from './responses';

/**
 * The execute API (issue 11 point 4, Airbyte's `execute(entity, action, params)`):
 * `GET /api/actions/<profileId>` lists the enabled actions with their parameter schemas, and
 * `POST /api/actions/<profileId>/<entity>/<action>` runs one with a connection (connectionTarget.ts),
 * through the engine's action runner (one request to the profile's API host that refreshes once on
 * 401 and waits out a short 429). Answers are the declared result fields only, never a token.
 */

export const ACTIONS_BASE = '/api/actions';

const NAME = /^[a-z][a-z0-9-]{0,39}$/;

const executeBody = z.strictObject({
  params: z.record(z.string(), z.unknown()).default({}),
  ...selectionFields,
});

export interface ExecuteOptions {
  engine: AuthorizationEngine;
  authenticate: ActionCallerAuthenticator;
  log: Logger;
}

export function registerExecuteApi(server: Server, options: ExecuteOptions): void {
  const { engine, log } = options;

  // Public, like the admin API's: it describes shapes, never data.
  server.get(`${ACTIONS_BASE}/openapi.json`, async (_req: Request, res: Response) => {
    sendJson(res, 200, actionsOpenApiDocument());
  });

  server.get(`${ACTIONS_BASE}/:profileId`, async (req: Request, res: Response) => {
    let label = 'unauthenticated';
    try {
      const caller = await options.authenticate(req);
      label = callerLabel(caller);
      const profile = await usableProfile(engine, paramOf(req, 'profileId'));
      const actions = engine
        .listActions(profile)
        .filter((action) => action.enabled)
        .map(({ key, entity, action, title, description, access, method, params, scopes }) => ({
          key,
          entity,
          action,
          title,
          ...(description !== undefined ? { description } : {}),
          access,
          method,
          params,
          scopes,
          execute: `${ACTIONS_BASE}/${profile.id}/${entity}/${action}`,
        }));
      sendJson(res, 200, { profile: { id: profile.id, displayName: profile.displayName }, actions });
    } catch (error) {
      sendError(res, failureOf(error, log, { caller: label, surface: 'execute API' }));
    }
  });

  server.post(`${ACTIONS_BASE}/:profileId/:entity/:action`, async (req: Request, res: Response) => {
    let label = 'unauthenticated';
    try {
      const caller = await options.authenticate(req);
      label = callerLabel(caller);
      const profile = await usableProfile(engine, paramOf(req, 'profileId'));
      const entity = nameOf(req, 'entity');
      const action = nameOf(req, 'action');
      const body = parseExecuteBody(await readJsonBody(req));
      const { params, ...selection } = body;
      const target = await connectionTarget(engine, caller, profile, selection);
      const key = `${entity}.${action}`;
      const outcome = await engine.runAction(profile, target.subject, key, params, {
        ...(target.connection !== undefined ? { connection: target.connection } : {}),
      });
      if (caller.kind === 'admin') {
        // Only after the switch and the parameters were checked would anything have been sent; the
        // attempt is recorded either way, with its outcome code (never its parameters).
        await auditCall(engine, caller, target, {
          action: 'action.executed',
          what: { action: key, outcome: outcome.ok ? 'ok' : outcome.code },
        });
      }
      log.info(
        { caller: label, profileId: profile.id, action: key, outcome: outcome.ok ? 'ok' : outcome.code },
        'execute API: action run',
      );
      if (!outcome.ok) throw executeFailure(outcome, target);
      sendJson(res, 200, executeResult(outcome));
    } catch (error) {
      sendError(res, failureOf(error, log, { caller: label, surface: 'execute API' }));
    }
  });
}

function paramOf(req: Request, name: string): string {
  const value = (req.params as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : '';
}

function nameOf(req: Request, name: 'entity' | 'action'): string {
  const value = paramOf(req, name);
  if (!NAME.test(value)) {
    const message = 'must be 1-40 lowercase letters, digits or dashes, starting with a letter';
    throw new ApiError(400, 'invalid-request', `invalid path parameter: ${name}: ${message}`, [
      { path: name, message },
    ]);
  }
  return value;
}

function parseExecuteBody(body: unknown): z.output<typeof executeBody> {
  const parsed = executeBody.safeParse(body);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ path: key, message: 'is not a known field (params go in "params")' }))
      : fieldIssues(new z.ZodError([issue])),
  );
  const summary = issues
    .slice(0, 5)
    .map((issue) => `${issue.path}: ${issue.message}`)
    .join('; ');
  throw new ApiError(400, 'invalid-request', `invalid body: ${summary}`, issues);
}
