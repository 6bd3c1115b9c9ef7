import js from '@eslint/js';
import graphql from '@graphql-eslint/eslint-plugin';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const CODE = ['**/*.{js,ts,svelte}'];

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'node_modules/',
      'src/__generated__/',
      'web/build/',
      'web/explorer/dist/',
      'web/.svelte-kit/',
      'web/src/lib/gql/',
      '.test-model/',
      'data/',
      '.scratch/',
      'benchmarks/results/',
    ],
  },
  // Code; the SDL has its own parser and rules (below).
  { files: CODE, ...js.configs.recommended },
  ...tseslint.configs.recommended.map((config) => ({ files: CODE, ...config })),
  {
    files: CODE,
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test's test() and describe() return promises that the runner itself awaits.
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  ...svelte.configs.recommended,
  {
    // The web UI: browser code, type-checked through web/tsconfig.json (and svelte-check).
    files: ['web/**/*.svelte', 'web/**/*.svelte.ts'],
    languageOptions: {
      globals: globals.browser,
      parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.svelte'] },
    },
    rules: {
      // resolve() prefixes kit.paths.base; the service always serves the app at its root, and
      // some links (/images/…) are the service's own URLs, not app routes.
      'svelte/no-navigation-without-resolve': 'off',
    },
  },
  { files: ['web/**/*.ts'], languageOptions: { globals: globals.browser } },
  { files: ['**/*.js'], ...tseslint.configs.disableTypeChecked },
  {
    // The catalog's doors for tests and benchmarks (a raw Lance handle, the write primitives past
    // the writer): the service itself never opens them.
    files: ['src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/test-access.js'], message: 'tests and benchmarks only (see test-access.ts)' }] },
      ],
    },
  },
  {
    // The SDL: the API as clients meet it (the web UI's operations are TypeScript, checked by codegen).
    files: ['schema/*.graphql'],
    languageOptions: { parser: graphql.parser, parserOptions: { graphQLConfig: { schema: 'schema/*.graphql' } } },
    plugins: { '@graphql-eslint': graphql },
    rules: {
      ...graphql.configs['flat/schema-recommended'].rules,
      // Every type, field, argument and enum value: the descriptions are the API's documentation.
      '@graphql-eslint/require-description': [
        'error',
        {
          types: true,
          rootField: true,
          DirectiveDefinition: true,
          FieldDefinition: true,
          InputValueDefinition: true,
          EnumValueDefinition: true,
        },
      ],
      // One-line descriptions are "strings", longer ones blocks: to clients the same description.
      '@graphql-eslint/description-style': 'off',
      // Image is the one entity (by content hash); the other types are values and outcomes that
      // no client cache normalises, so an id would be invented.
      '@graphql-eslint/strict-id-in-types': 'off',
    },
  },
);
