import type { TurnContext } from 'botbuilder';
import {
  type ConnectionAccount,
  type ConnectionStatus,
  type ConnectionSummary,
  describeUnreadable,
  ORGANIZATION,
} from '../profiles';
import { userSubject, type DialogServices } from './dialogServices';
import { inertText } from './inertText';

const STATUS_TEXT: Record<ConnectionStatus, string> = {
  active: 'connected',
  'pending-verification': 'waiting for the verification code',
  'needs-reauthorization': 'needs you to sign in again',
  revoked: 'revoked',
};

/**
 * "my connections": per-user connections of this user and the organisation's shared ones. No secrets.
 * Plain text (send it with `plainMessage`), one line per profile; display names, and the account a
 * connection signed in as (written by the provider), through `inertText` (SECURITY.md #45).
 */
export async function connectionsReport(services: DialogServices, context: TurnContext): Promise<string> {
  const { engine } = services;
  // A profile whose stored secret this service cannot open is listed with the reason (SECURITY.md #52).
  const profiles = (await engine.listProfiles()).filter(
    (profile) => profile.missing.length === 0 || profile.unreadableSecret !== null,
  );
  const mine = await engine.connectionsOf(userSubject(context));
  const lines: string[] = [];
  for (const profile of profiles) {
    if (profile.unreadableSecret) {
      lines.push(
        `• ${inertText(profile.displayName)}: unavailable, its client secret is ${describeUnreadable(profile.unreadableSecret)}; an admin must fix it`,
      );
      continue;
    }
    if (profile.authorization === 'pre-authorized') {
      const org = await engine.connectionOf(profile, ORGANIZATION);
      const status = org ? STATUS_TEXT[org.status] : 'not connected';
      const unreadable = org?.unreadable;
      lines.push(
        `• ${inertText(profile.displayName)} — shared by your organisation: ${
          unreadable
            ? `${describeUnreadable(unreadable)}; an admin must reconnect it`
            : org?.status === 'needs-reauthorization'
              ? 'an admin must reconnect it'
              : org
                ? withAccount(status, org)
                : status
        }`,
      );
      continue;
    }
    // Several accounts (issue 10 point 3): one line each, the default one first and marked as such.
    const ofProfile = mine
      .filter((candidate) => candidate.profileId === profile.id)
      .sort(
        (a, b) => Number(b.isDefault) - Number(a.isDefault) || (a.name ?? '').localeCompare(b.name ?? ''),
      );
    const several = ofProfile.length > 1;
    for (const connection of ofProfile.length > 0 ? ofProfile : [undefined]) {
      lines.push(userLine(profile.displayName, connection, several));
    }
  }
  if (lines.length === 0) return 'No integrations are configured yet.';
  return ['Your connections:', ...lines, 'Say "sign out of" and a name to revoke my access to one.'].join(
    '\n',
  );
}

/** One user connection: `• HubSpot: connected as …`, `• HubSpot (work): … (default)` among several. */
function userLine(displayName: string, connection: ConnectionSummary | undefined, several: boolean): string {
  const unreadable = connection?.unreadable;
  const label = connection?.name ? `${inertText(displayName)} (${connection.name})` : inertText(displayName);
  const marker = several && connection?.isDefault ? ' (default)' : '';
  return `• ${label}: ${
    unreadable
      ? `${describeUnreadable(unreadable)}; sign in again to replace it`
      : connection
        ? withAccount(STATUS_TEXT[connection.status], connection)
        : 'not connected'
  }${marker}`;
}

/** "connected as Alice (alice@example.com)": which account, when the sign-in's ID token named one. */
function withAccount(status: string, connection: ConnectionSummary): string {
  const account = connection.account ? accountLabel(connection.account) : null;
  if (account === null) return status;
  return connection.status === 'active' ? `${status} as ${account}` : `${status} (account ${account})`;
}

/** The provider wrote these claims, so each is inert text (SECURITY.md #45): one line, length capped. */
function accountLabel(account: ConnectionAccount): string | null {
  const name = account.name?.trim() ? inertText(account.name) : null;
  const email = account.email?.trim() ? inertText(account.email) : null;
  if (name && email) return `${name} (${email})`;
  return name ?? email ?? (account.sub.trim() ? inertText(account.sub) : null);
}
