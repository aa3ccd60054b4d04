// The dialog state manager's memory scopes are built once for the bot, not for every turn (issue 12),
// Multi-turn dialogs with them: test/bot/signinDialog.test.ts and the other chat tests.
import { ConversationState, MemoryStorage, TestAdapter } from 'botbuilder';
import { AuthProfilesBot } from '../../bot/web/authProfilesBot';
import type { DialogServices } from '../../dialogs/dialogServices';
import { MainDialog } from '../../dialogs/mainDialog';

test('every turn uses the same memory scopes, built once', async () => {
  // "help" and unknown text only read the profile list (for the actions they may offer): a stand-in
  // engine with no profiles is all these turns need.
  const services = { engine: { listProfiles: async () => [] } } as unknown as DialogServices;
  const bot = new AuthProfilesBot(new ConversationState(new MemoryStorage()), new MainDialog(services));
  const configurations: unknown[] = [];
  const adapter = new TestAdapter(async (context) => {
    await bot.run(context);
    configurations.push(context.turnState.get('DialogStateManagerConfiguration'));
  });
  await adapter.send('help').assertReply((reply) => expect(reply.text).toMatch(/^Here is what I can do/));
  await adapter
    .send('what?')
    .assertReply((reply) => expect(reply.text).toMatch(/^Sorry, I didn't understand "what"/));
  await adapter.send('help').assertReply((reply) => expect(reply.text).toMatch(/^Here is what I can do/));
  expect(configurations).toHaveLength(3);
  const [first] = configurations as { memoryScopes: unknown[]; pathResolvers: unknown[] }[];
  expect(first?.memoryScopes.length).toBeGreaterThan(0);
  expect(first?.pathResolvers.length).toBeGreaterThan(0);
  expect(configurations[1]).toBe(first);
  expect(configurations[2]).toBe(first);
});
