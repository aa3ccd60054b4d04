import type { Request, Response, Server } from 'restify';
import { z } from 'zod';

import type { CrmAccess } from './crmAccess';
import { sendError, sendValidationError } from './crmAnswers';
import { SAMPLE_OWNERS, type SampleOwner } from './sampleOwners';

/**
 * HubSpot's CRM v3 owners API over the demo's owners: GET /crm/v3/owners (filter by `email`, paged
 * with `limit` and `after`, `archived`) and GET /crm/v3/owners/{ownerId} (`idProperty` id or userId).
 * A signed-in user finds their own owner id here by the e-mail address token info gives them.
 */

export const OWNERS_SCOPE = 'crm.objects.owners.read';

const OWNERS_MAX_LIMIT = 500;
const OWNERS_DEFAULT_LIMIT = 100;

const archivedSchema = z.enum(['true', 'false']).default('false');

const listSchema = z.object({
  email: z.string().min(1).max(254).optional(),
  limit: z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(1).max(OWNERS_MAX_LIMIT))
    .default(OWNERS_DEFAULT_LIMIT),
  after: z.string().regex(/^\d+$/, 'must be a cursor from paging.next.after').transform(Number).optional(),
  archived: archivedSchema,
});

const readSchema = z.object({
  ownerId: z.string().regex(/^\d{1,18}$/, 'must be a whole number'),
  idProperty: z.enum(['id', 'userId']).default('id'),
  archived: archivedSchema,
});

export function registerDemoOwners(
  server: Server,
  options: { basePath: string; access: CrmAccess; owners?: readonly SampleOwner[] },
): void {
  const { basePath, access } = options;
  const owners = options.owners ?? SAMPLE_OWNERS;

  const admit = async (req: Request, res: Response): Promise<boolean> => {
    const introspection = await access.authenticate(req, res);
    return introspection !== undefined && access.requireScopes(res, introspection, [OWNERS_SCOPE]);
  };

  server.get(`${basePath}/crm/v3/owners`, async (req: Request, res: Response) => {
    if (!(await admit(req, res))) return;
    const query = new URL(req.url ?? '/', 'http://demo.invalid').searchParams;
    const parsed = listSchema.safeParse({
      email: query.get('email') ?? undefined,
      limit: query.get('limit') ?? undefined,
      after: query.get('after') ?? undefined,
      archived: query.get('archived') ?? undefined,
    });
    if (!parsed.success) {
      sendValidationError(res, parsed.error);
      return;
    }
    const { email, limit, after = 0 } = parsed.data;
    const archived = parsed.data.archived === 'true';
    const matching = owners
      .filter((o) => o.archived === archived)
      .filter((o) => email === undefined || o.email === email.trim().toLowerCase())
      .sort((a, b) => Number(a.id) - Number(b.id));
    const body: Record<string, unknown> = {
      results: matching.slice(after, after + limit).map(presentOwner),
    };
    const next = after + limit;
    if (next < matching.length) {
      const link = new URLSearchParams({ limit: String(limit), after: String(next) });
      if (email !== undefined) link.set('email', email);
      if (archived) link.set('archived', 'true');
      body.paging = { next: { after: String(next), link: `${basePath}/crm/v3/owners?${link.toString()}` } };
    }
    res.json(200, body, { 'Cache-Control': 'no-store' });
  });

  server.get(`${basePath}/crm/v3/owners/:ownerId`, async (req: Request, res: Response) => {
    if (!(await admit(req, res))) return;
    const query = new URL(req.url ?? '/', 'http://demo.invalid').searchParams;
    const parsed = readSchema.safeParse({
      ownerId: String((req.params as Record<string, unknown>).ownerId ?? ''),
      idProperty: query.get('idProperty') ?? undefined,
      archived: query.get('archived') ?? undefined,
    });
    if (!parsed.success) {
      sendValidationError(res, parsed.error);
      return;
    }
    const { ownerId, idProperty } = parsed.data;
    const archived = parsed.data.archived === 'true';
    const found = owners.find(
      (o) =>
        o.archived === archived &&
        (idProperty === 'id'
          ? o.id === ownerId
          : String(archived ? o.userIdIncludingInactive : o.userId) === ownerId),
    );
    if (!found) {
      sendError(res, 404, 'OBJECT_NOT_FOUND', `No owner has ${idProperty} ${ownerId}.`);
      return;
    }
    res.json(200, presentOwner(found), { 'Cache-Control': 'no-store' });
  });
}

function presentOwner(owner: SampleOwner): Record<string, unknown> {
  return {
    id: owner.id,
    email: owner.email,
    type: 'PERSON',
    firstName: owner.firstName,
    lastName: owner.lastName,
    userId: owner.userId,
    userIdIncludingInactive: owner.userIdIncludingInactive,
    createdAt: owner.createdAt,
    updatedAt: owner.updatedAt,
    archived: owner.archived,
    ...(owner.teams ? { teams: owner.teams.map((team) => ({ ...team })) } : {}),
  };
}
