import { InvalidArgumentError, type Command } from 'commander';
import { out } from './cliOutput';
import { table, type ActionRow } from './common';
import type { Backends } from './openBackend';

/** `entity.action`, as profiles/actions/actionSchema.ts names actions. */
const ACTION_KEY = /^[a-z][a-z0-9-]{0,39}\.[a-z][a-z0-9-]{0,39}$/;

export function actionKeyArgument(value: string): string {
  if (!ACTION_KEY.test(value))
    throw new InvalidArgumentError('must be an action key (entity.action, e.g. deals.list-mine)');
  return value;
}

/**
 * A title comes from a profile a developer key may write: its control characters (terminal escape
 * sequences) are shown as "?" instead of being sent to the admin's terminal.
 */
function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

/** `actions list|enable|disable` (issue 11 point 3): a profile's actions and the admins' switch. */
export function actionCommands(backends: Backends) {
  async function actionsList(profileId: string, options: { json?: boolean }, command: Command) {
    return backends.withBackend(command, async (store) => {
      const actions = await store.listActions(profileId);
      if (options.json) {
        out(JSON.stringify(actions, null, 2));
        return;
      }
      if (actions.length === 0) {
        out(`profile "${profileId}" declares no actions`);
        return;
      }
      out(
        table(
          ['KEY', 'ENABLED', 'ACCESS', 'TITLE'],
          actions.map((action: ActionRow) => [
            action.key,
            `${action.enabled ? 'on' : 'off'}${action.setting === 'admin' ? '' : ' (default)'}`,
            action.access,
            printable(action.title),
          ]),
        ),
      );
    });
  }

  const switchTo =
    (enabled: boolean) => async (profileId: string, key: string, _options: unknown, command: Command) =>
      backends.withBackend(command, async (store) => {
        const action = await store.setActionEnabled(profileId, key, enabled);
        out(`${action.enabled ? 'enabled' : 'disabled'} ${action.key} of ${profileId}`);
      });

  return { list: actionsList, enable: switchTo(true), disable: switchTo(false) };
}
