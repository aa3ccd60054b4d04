// SECURITY.md #26: dialog state written by two instances at once is a detected conflict.
import { ConversationState, TestAdapter, TurnContext } from 'botbuilder';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StorageConflictError, StoreStorage } from '../../bot/web/storeStorage';
import { SqliteStore } from '../../profiles/store/sqliteStore';

let dir: string;
let storeA: SqliteStore;
let storeB: SqliteStore;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'authprofiles-state-'));
  // Two stores on one file: two instances sharing the database.
  storeA = new SqliteStore(join(dir, 'state.db'));
  storeB = new SqliteStore(join(dir, 'state.db'));
});

afterEach(async () => {
  await storeA.close();
  await storeB.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a write based on a stale read fails instead of overwriting the other instance', async () => {
  const a = new StoreStorage(storeA.documents);
  const b = new StoreStorage(storeB.documents);
  await a.write({ 'webchat/conversations/c1': { step: 1 } });
  const readByA = await a.read(['webchat/conversations/c1']);
  const readByB = await b.read(['webchat/conversations/c1']);
  const itemA = readByA['webchat/conversations/c1'] as Record<string, unknown>;
  const itemB = readByB['webchat/conversations/c1'] as Record<string, unknown>;
  itemA.step = 2;
  await a.write({ 'webchat/conversations/c1': itemA });
  itemB.step = 3;
  // botbuilder's BotState sets eTag '*' before writing; the storage still uses the eTag it read.
  itemB.eTag = '*';
  await expect(b.write({ 'webchat/conversations/c1': itemB })).rejects.toBeInstanceOf(StorageConflictError);
  const final = await b.read(['webchat/conversations/c1']);
  expect((final['webchat/conversations/c1'] as Record<string, unknown>).step).toBe(2);
});

test('ConversationState.saveChanges from two instances on the same turn state: the second one conflicts', async () => {
  const stateA = new ConversationState(new StoreStorage(storeA.documents));
  const stateB = new ConversationState(new StoreStorage(storeB.documents));
  const adapter = new TestAdapter(async () => undefined);
  const activity = {
    ...adapter.makeActivity('hi'),
    channelId: 'webchat',
    conversation: { id: 'shared', isGroup: false, conversationType: '', name: '' },
  };
  const seed = new TurnContext(adapter, activity);
  const seedProperty = stateA.createProperty<number>('counter');
  await stateA.load(seed);
  await seedProperty.set(seed, 1);
  await stateA.saveChanges(seed);

  const turnA = new TurnContext(adapter, activity);
  const turnB = new TurnContext(adapter, activity);
  const counterA = stateA.createProperty<number>('counter');
  const counterB = stateB.createProperty<number>('counter');
  await stateA.load(turnA);
  await stateB.load(turnB);
  await counterA.set(turnA, 2);
  await counterB.set(turnB, 3);
  await stateA.saveChanges(turnA);
  await expect(stateB.saveChanges(turnB)).rejects.toBeInstanceOf(StorageConflictError);

  const check = new TurnContext(adapter, activity);
  const fresh = new ConversationState(new StoreStorage(storeB.documents));
  await fresh.load(check);
  expect(await fresh.createProperty<number>('counter').get(check)).toBe(2);
});

test('the same instance saving twice in one turn does not conflict with itself', async () => {
  const state = new ConversationState(new StoreStorage(storeA.documents));
  const adapter = new TestAdapter(async () => undefined);
  const context = new TurnContext(adapter, { ...adapter.makeActivity('hi'), channelId: 'webchat' });
  const property = state.createProperty<number>('n');
  await state.load(context);
  await property.set(context, 1);
  await state.saveChanges(context);
  await property.set(context, 2);
  await state.saveChanges(context);
  const check = new TurnContext(adapter, { ...adapter.makeActivity('hi'), channelId: 'webchat' });
  const fresh = new ConversationState(new StoreStorage(storeB.documents));
  await fresh.load(check);
  expect(await fresh.createProperty<number>('n').get(check)).toBe(2);
});
