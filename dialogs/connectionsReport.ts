import type { TurnContext } from 'botbuilder';
import type { ConnectionStatus } from '../profiles/store/types';
import { subjectKey } from '../profiles/subjects';
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
 * Plain text (send it with `plainMessage`), one line per profile; display names through `inertText`
 * (SECURITY.md #45).
 */
export async function connectionsReport(services: DialogServices, context: TurnContext): Promise<string> {
  const { engine } = services;
  const profiles = (await engine.catalog.list()).filter((profile) => profile.missing.length === 0);
  const mine = await engine.store.connections.list(
    { subjectKey: subjectKey(userSubject(context)) },
    { limit: 200 },
  );
  const lines: string[] = [];
  for (const profile of profiles) {
    if (profile.authorization === 'pre-authorized') {
      const org = await engine.store.connections.get(profile.id, 'org');
      const status = org ? STATUS_TEXT[org.status] : 'not connected';
      lines.push(
        `• ${inertText(profile.displayName)} — shared by your organisation: ${org?.status === 'needs-reauthorization' ? 'an admin must reconnect it' : status}`,
      );
      continue;
    }
    const connection = mine.find((candidate) => candidate.profileId === profile.id);
    lines.push(
      `• ${inertText(profile.displayName)}: ${connection ? STATUS_TEXT[connection.status] : 'not connected'}`,
    );
  }
  if (lines.length === 0) return 'No integrations are configured yet.';
  return ['Your connections:', ...lines, 'Say "sign out of" and a name to revoke my access to one.'].join(
    '\n',
  );
}
