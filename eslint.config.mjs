// One lint config for the whole tree; type-aware rules catch floating promises,
// which in a bot service are lost errors and unanswered users.
import tseslint from 'typescript-eslint';

// ---------------------------------------------------------------------------------------------------
// Rooms: who may import whom (README "How it works"). Each rule below is the whole list for its room.
//
//   profiles/        the engine: imports no bot SDK, no HTTP server, nothing of bot/ or dialogs/;
//                    everyone else imports it through profiles/index.ts and uses the engine's methods
//   dialogs/         botbuilder-dialogs on the engine; never bot/
//   bot/*.ts         composition: config, logger, services, app, the entries main.ts and cli.ts
//   bot/web/         the channel and OAuth web edge (and bot/tokenService/, which belongs to it)
//   bot/admin/       the admin surface: REST API, pages, sessions, CLI
//   bot/dev/         the dev-only surface: Web Chat, local Direct Line, demo provider and CRM
//   bot/http/        HTTP plumbing every room shares (the one request-body reader); imports no room
//
// bot/dev/ is reached through bot/devSurface.ts only, and that file is loaded by bot/services.ts only
// (when dev features are on), so production never needs the dev surface.

const rule = (regex, message) => ({ regex, message });

/** Composition's wiring files; rooms get what they need passed in, they never reach back for it. */
const NO_WIRING = rule(
  '^(\\.\\./)+(app|services|main|cli|devSurface)$',
  'Rooms do not import the composition (app, services, main, cli, devSurface): take what you need as a parameter.',
);
const NO_DEV = rule(
  '(^|/)dev(/|$)',
  'bot/dev/ is the dev-only surface: only bot/devSurface.ts imports it (eslint.config.mjs, "Rooms").',
);
const NO_DEV_SURFACE = rule(
  '(^|/)devSurface$',
  'bot/devSurface.ts is loaded by bot/services.ts only, so the dev surface stays out of production.',
);
const NO_ADMIN = rule('(^|/)admin(/|$)', 'The admin surface (bot/admin/) is not imported by this room.');
const NO_WEB = rule('(^|/)web(/|$)', 'The channel/OAuth web edge (bot/web/) is not imported by this room.');
const NO_WEB_BUT_PAGES = rule(
  '(^|/)web(/(?!pages$)|$)',
  'The admin surface uses only the web edge page renderer (bot/web/pages.ts).',
);
const NO_DIALOGS = rule('(^|/)dialogs(/|$)', 'Dialogs are the chat surface; this room does not use them.');
const NO_BOT = rule(
  '(^|/)bot(/|$)',
  'dialogs/ never imports bot/: the host passes what dialogs need (DialogServices).',
);

/** bot/ and dialogs/ use the engine through profiles/index.ts only. */
const ENGINE_ENTRY = rule(
  '(^|/)profiles/',
  "Import the engine from its entry ('profiles', profiles/index.ts), not its modules: add what a host needs there.",
);

const restrict = (...patterns) => ['error', { patterns: [ENGINE_ENTRY, ...patterns] }];

/**
 * The engine's parts stay behind its methods: `engine.store`, `engine.context`, `engine.tokens` and
 * `engine.catalog` (and the same on `services`) are for profiles/ and the tests. A heuristic on names,
 * which is how these objects are called throughout bot/ and dialogs/.
 */
const ENGINE_INTERNALS = [
  'error',
  {
    selector:
      'MemberExpression[property.name=/^(store|context|tokens|catalog)$/][object.name=/^(engine|services|core)$/]',
    message:
      'Use an engine method (profiles/engine.ts): the store, context, tokens and catalog are engine internals.',
  },
  {
    selector:
      'MemberExpression[property.name=/^(store|context|tokens|catalog)$/][object.property.name=/^(engine|services)$/]',
    message:
      'Use an engine method (profiles/engine.ts): the store, context, tokens and catalog are engine internals.',
  },
];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'data/**', 'coverage/**', 'manifest/build/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  {
    files: ['profiles/**/*.ts'],
    rules: {
      // The engine must stay hostable by any bot SDK (FACTS: botbuilder is archived).
      'no-restricted-imports': [
        'error',
        { patterns: ['botbuilder*', 'botframework-*', '**/bot/**', '**/dialogs/**', 'restify'] },
      ],
    },
  },
  {
    files: ['bot/**/*.ts', 'dialogs/**/*.ts'],
    rules: { 'no-restricted-syntax': ENGINE_INTERNALS },
  },
  {
    files: ['dialogs/**/*.ts'],
    rules: { 'no-restricted-imports': restrict(NO_BOT) },
  },
  {
    files: ['bot/*.ts'],
    ignores: ['bot/devSurface.ts', 'bot/services.ts'],
    rules: { 'no-restricted-imports': restrict(NO_DEV, NO_DEV_SURFACE) },
  },
  {
    files: ['bot/services.ts'],
    rules: { 'no-restricted-imports': restrict(NO_DEV) },
  },
  {
    files: ['bot/web/**/*.ts', 'bot/tokenService/**/*.ts'],
    rules: { 'no-restricted-imports': restrict(NO_WIRING, NO_DEV, NO_DEV_SURFACE, NO_ADMIN) },
  },
  {
    files: ['bot/admin/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict(NO_WIRING, NO_DEV, NO_DEV_SURFACE, NO_WEB_BUT_PAGES, NO_DIALOGS),
    },
  },
  {
    files: ['bot/dev/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict(NO_WIRING, NO_DEV_SURFACE, NO_ADMIN, NO_WEB, NO_DIALOGS),
    },
  },
  {
    files: ['bot/http/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict(NO_WIRING, NO_DEV, NO_DEV_SURFACE, NO_ADMIN, NO_WEB, NO_DIALOGS),
    },
  },
  {
    files: ['test/**/*.ts', 'bot/cli.ts', 'bot/admin/cli/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
  {
    files: ['**/*.mjs', '**/*.js', '**/*.cjs'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
