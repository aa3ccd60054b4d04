import { createHash } from 'node:crypto';

/**
 * The demo account's owners (HubSpot's CRM v3 owners shape) and the demo portal, and how a person
 * signed in at the demo provider maps to one of them.
 *
 * The demo provider (bot/dev/authServer.mjs) accepts any login name, and its introspection answers
 * the login as `sub`; it knows no e-mail addresses. The demo CRM gives each login the address
 * `<login>@demo-crm.example` (a login that already is an address is kept as it is, in lower case),
 * and that address is what the token-info endpoint answers as `user` and what an owner is found by,
 * as in HubSpot, where a user and their owner record share the address. So logins alice, bob, carol
 * and dave are the four active owners; any other login is a user who owns no records.
 */

export interface SampleOwner {
  id: string;
  email: string;
  firstName: string;
  lastName: string;
  /** null for an archived (deactivated) owner, whose user id moves to userIdIncludingInactive. */
  userId: number | null;
  userIdIncludingInactive: number;
  createdAt: string;
  updatedAt: string;
  archived: boolean;
  teams?: { id: string; name: string; primary: boolean }[];
}

export const DEMO_EMAIL_DOMAIN = 'demo-crm.example';

/** The one demo portal every token belongs to. */
export const DEMO_PORTAL = { hubId: 9000001, hubDomain: DEMO_EMAIL_DOMAIN, appId: 1700001 } as const;

const SALES = { id: '401', name: 'Sales', primary: true };
const SUPPORT = { id: '402', name: 'Customer Support', primary: true };

export const SAMPLE_OWNERS: readonly SampleOwner[] = [
  owner('71001', 'alice', 'Alice', 'Archer', 9100001, [SALES]),
  owner('71002', 'bob', 'Bob', 'Baker', 9100002, [SALES]),
  owner('71003', 'carol', 'Carol', 'Chen', 9100003, [SALES, { ...SUPPORT, primary: false }]),
  owner('71004', 'dave', 'Dave', 'Diaz', 9100004, [SUPPORT]),
  {
    ...owner('71009', 'olive', 'Olive', 'Oldham', 9100009),
    userId: null,
    archived: true,
    updatedAt: '2025-03-31T17:00:00.000Z',
  },
];

function owner(
  id: string,
  login: string,
  firstName: string,
  lastName: string,
  userId: number,
  teams?: SampleOwner['teams'],
): SampleOwner {
  const n = Number(id) % 100;
  return {
    id,
    email: `${login}@${DEMO_EMAIL_DOMAIN}`,
    firstName,
    lastName,
    userId,
    userIdIncludingInactive: userId,
    createdAt: new Date(Date.UTC(2024, 10, n, 8, 0, 0)).toISOString(),
    updatedAt: new Date(Date.UTC(2025, 0, n, 8, 0, 0)).toISOString(),
    archived: false,
    ...(teams ? { teams } : {}),
  };
}

/** The e-mail address the demo gives a demo-provider login (its `sub`). */
export function demoUserEmail(sub: string): string {
  const login = sub.trim().toLowerCase();
  return login.includes('@') ? login : `${login}@${DEMO_EMAIL_DOMAIN}`;
}

/** The active owner a login maps to, by e-mail address, if any. */
export function ownerOfLogin(sub: string): SampleOwner | undefined {
  const email = demoUserEmail(sub);
  return SAMPLE_OWNERS.find((o) => !o.archived && o.email === email);
}

/**
 * A HubSpot user id for a login: its owner's, or a stable number derived from the login for a user
 * who owns nothing (HubSpot's token info always names the user).
 */
export function demoUserId(sub: string): number {
  const known = ownerOfLogin(sub)?.userId;
  if (typeof known === 'number') return known;
  const digest = createHash('sha256').update(demoUserEmail(sub)).digest();
  return 9200000 + (digest.readUInt32BE(0) % 100000);
}
