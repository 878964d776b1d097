// ESLint flat config. `npm run lint` runs it with --max-warnings 0, so a warning fails CI like an error.
import js from "@eslint/js";
import comments from "@eslint-community/eslint-plugin-eslint-comments/configs";
import nextCoreWebVitals from "eslint-config-next/core-web-vitals";
import prettier from "eslint-config-prettier/flat";
import reactHooks from "eslint-plugin-react-hooks";
import { defineConfig, globalIgnores } from "eslint/config";
import tseslint from "typescript-eslint";

export default defineConfig([
  globalIgnores([
    ".next/",
    "out/",
    "build/",
    "coverage/",
    ".data/",
    "test-results/",
    "playwright-report/",
    "blob-report/",
    "next-env.d.ts",
    "db/migrations/",
  ]),

  js.configs.recommended,
  // Next's rules (@next/next recommended + core-web-vitals), with React, jsx-a11y and import rules.
  ...nextCoreWebVitals,
  reactHooks.configs.flat["recommended-latest"],
  tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Numbers in template literals print as expected; objects, nullish values and the like still may not.
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true }],
      // `const { secret, ...rest } = input` is how a property is left out of a copy.
      "@typescript-eslint/no-unused-vars": ["error", { ignoreRestSiblings: true }],
      // `onClick={() => setOpen(false)}` and `.then(() => resolve())` are idiomatic; a void call in any other
      // position (returned from a block body, used as a value) is still reported.
      "@typescript-eslint/no-confusing-void-expression": ["error", { ignoreArrowShorthand: true }],
    },
  },
  {
    // Plain JS files are outside tsconfig.json (allowJs is off), so they get no type information.
    files: ["**/*.{js,mjs,cjs}"],
    extends: [tseslint.configs.disableTypeChecked],
  },

  {
    // Tests and their helpers: `rows[0]!` after inserting that row, or `find(...)!` of an item the test just made,
    // is itself an assertion; if it is wrong the test fails with a TypeError at that line, which is what a
    // test should do. Application code must still narrow or throw a named error.
    files: ["**/*.test.ts", "**/test/**", "**/test-helpers.ts", "e2e/**"],
    rules: {
      "@typescript-eslint/no-non-null-assertion": "off",
    },
  },
  {
    // Test files keep fixtures in `let h: Harness` set by beforeAll; afterAll's `h?.stop()` is for a beforeAll
    // that failed part-way, which that type cannot show, so this rule calls the guard unnecessary.
    files: ["**/*.test.ts"],
    rules: {
      "@typescript-eslint/no-unnecessary-condition": "off",
    },
  },

  // Every eslint-disable names the rule and says why: `// eslint-disable-next-line rule -- reason`.
  comments.recommended,
  {
    rules: {
      "@eslint-community/eslint-comments/require-description": ["error", { ignore: ["eslint-enable"] }],
      "@eslint-community/eslint-comments/no-unlimited-disable": "error",
      "@eslint-community/eslint-comments/no-unused-disable": "error",
    },
    linterOptions: { reportUnusedDisableDirectives: "error" },
  },

  // Formatting is Prettier's job (npm run format:check); turn off rules that would fight it.
  prettier,
]);
