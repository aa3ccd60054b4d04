import { LRUCache } from 'lru-cache';
import {
  ActionTypes,
  CardFactory,
  MessageFactory,
  TurnContext,
  type Activity,
  type BotAdapter,
  type ConversationReference,
} from 'botbuilder';
import {
  ORGANIZATION,
  organisationBrokenAdminMessage,
  organisationRepairedAdminMessage,
  type AuthorizationEngine,
  type DocumentRepository,
  type Profile,
} from '../../profiles';
import { inertText } from '../../dialogs/inertText';
import type { Logger } from '../logger';

/**
 * Broken organisation connections reach the profile's admins in chat (issue 10 point 7).
 *
 * Who is an admin: the profile's `adminUsers` (`<channelId>:<userId>`). The bot can only write to
 * someone it has a conversation with, so it keeps the personal-chat reference of a listed admin each
 * time they message it (`recordContact`, adapter middleware); an admin who never talked to the bot
 * in a personal chat is not reached (the admin page and audit log still show the breakage).
 *
 * When: each pass (`sweep`, every minute) compares each pre-authorized profile's organisation
 * connection with what was last told, kept in the store per profile. `needs-reauthorization` not yet
 * told → one message with a Reconnect link (the admin page of the profile, where Pre-authorize is);
 * `active` again after that → one "works again" message. The flag is written with its eTag before
 * anyone is told, so with several instances only one tells.
 */
export interface AdminAlertOptions {
  engine: Pick<AuthorizationEngine, 'listProfiles' | 'connectionOf'>;
  documents: DocumentRepository;
  adapter: Pick<BotAdapter, 'continueConversationAsync'>;
  botAppId: string;
  publicUrl: string;
  log: Logger;
}

const CONTACT = 'authprofiles/admin-contact/';
const ALERT = 'authprofiles/org-alert/';

/** How long the set of listed admins is reused before the profiles are read again. */
const ADMINS_TTL_MS = 60_000;

export class AdminAlerts {
  // recordContact runs on every personal message: it reads the profiles at most once a minute and
  // writes an admin's reference only when it changed, not on every message.
  private admins: { users: Set<string>; at: number } | null = null;
  private readonly recorded = new LRUCache<string, string>({ max: 1000 });

  constructor(private readonly options: AdminAlertOptions) {}

  private async adminUsers(): Promise<Set<string>> {
    const now = Date.now();
    if (!this.admins || now - this.admins.at >= ADMINS_TTL_MS) {
      const profiles = await this.options.engine.listProfiles();
      this.admins = { users: new Set(profiles.flatMap((profile) => profile.adminUsers)), at: now };
    }
    return this.admins.users;
  }

  /** Keeps the personal-chat reference of a listed admin who messages the bot. */
  async recordContact(activity: Partial<Activity>): Promise<void> {
    if (activity.type !== 'message' || !activity.from?.id || !activity.channelId) return;
    if (activity.conversation?.conversationType && activity.conversation.conversationType !== 'personal')
      return;
    if (activity.conversation?.isGroup) return;
    const who = `${activity.channelId}:${activity.from.id}`;
    if (!(await this.adminUsers()).has(who)) return;
    const reference = TurnContext.getConversationReference(activity);
    const conversationId = reference.conversation?.id ?? '';
    if (this.recorded.get(who) === conversationId) return;
    await this.options.documents.write(`${CONTACT}${who}`, { reference }, '*');
    this.recorded.set(who, conversationId);
  }

  /** One pass over the pre-authorized profiles; returns how many messages were sent. */
  async sweep(): Promise<number> {
    let sent = 0;
    for (const profile of await this.options.engine.listProfiles()) {
      if (profile.authorization !== 'pre-authorized' || profile.adminUsers.length === 0) continue;
      const status = (await this.options.engine.connectionOf(profile, ORGANIZATION))?.status;
      const key = `${ALERT}${profile.id}`;
      const stored = (await this.options.documents.read([key])).get(key);
      const told = stored?.value.broken === true;
      const broken = status === 'needs-reauthorization';
      const repaired = told && status === 'active';
      if (broken === told && !repaired) continue;
      if (!broken && !repaired) continue;
      // Claim the change first: another instance that got here too loses the eTag race and tells no one.
      const claimed = await this.options.documents.write(key, { broken }, stored?.eTag);
      if (claimed === null) continue;
      sent += await this.tell(profile, broken);
    }
    return sent;
  }

  private async tell(profile: Profile, broken: boolean): Promise<number> {
    const name = inertText(profile.displayName);
    const keys = profile.adminUsers.map((who) => `${CONTACT}${who}`);
    const contacts = await this.options.documents.read(keys);
    let sent = 0;
    for (const [key, document] of contacts) {
      const reference = document.value.reference as Partial<ConversationReference> | undefined;
      if (!reference) continue;
      try {
        await this.options.adapter.continueConversationAsync(
          this.options.botAppId,
          reference,
          async (context) => {
            await context.sendActivity(
              broken ? this.reconnectCard(profile, name) : organisationRepairedAdminMessage(name),
            );
          },
        );
        sent += 1;
      } catch (error) {
        this.options.log.warn(
          { profileId: profile.id, admin: key.slice(CONTACT.length), err: error },
          'admin alert not delivered',
        );
      }
    }
    this.options.log.info({ profileId: profile.id, broken, sent }, 'organisation connection: admins told');
    return sent;
  }

  private reconnectCard(profile: Profile, name: string): Partial<Activity> {
    const url = `${this.options.publicUrl.replace(/\/+$/, '')}/admin/profiles/${encodeURIComponent(profile.id)}`;
    const card = CardFactory.heroCard(
      `${name}: reconnect needed`,
      organisationBrokenAdminMessage(name),
      undefined,
      [{ type: ActionTypes.OpenUrl, title: 'Reconnect', value: url }],
    );
    return MessageFactory.attachment(card);
  }
}

export function startAdminAlerts(alerts: AdminAlerts, log: Logger, intervalMs: number): { stop(): void } {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    alerts
      .sweep()
      .catch((error: unknown) => log.warn({ err: error }, 'admin alert sweep failed'))
      .finally(() => {
        running = false;
      });
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
