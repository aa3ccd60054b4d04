// One lint config for the whole tree; type-aware rules catch floating promises,
// which in a bot service are lost errors and unanswered users.
import tseslint from 'typescript-eslint';

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
    files: ['test/**/*.ts', 'bot/cli*.ts', 'bot/cli/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
  {
    files: ['**/*.mjs', '**/*.js', '**/*.cjs'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
