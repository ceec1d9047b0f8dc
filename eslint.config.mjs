import vitest from "@vitest/eslint-plugin";
import tseslint from "typescript-eslint";
import { noUncheckedRpcResult } from "./scripts/eslint/rpc-result.mjs";
import { noStatusOnlyTest } from "./scripts/eslint/status-only.mjs";
import { noConsole } from "./scripts/eslint/no-console.mjs";

/**
 * Lint (`npm run lint`, part of `npm test`): typescript-eslint with type information, because the
 * rules that matter most here need the type checker (a floating promise in a Worker is work that
 * silently never finishes once the response is sent). Formatting is Prettier's (`npm run format`).
 */
export default tseslint.config(
  { ignores: ["**/node_modules/**", "**/.wrangler/**", "**/env.d.ts", "bench/results/**", "**/*.mjs", "**/*.d.mts"] },
  {
    files: ["**/*.ts"],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: { allowDefaultProject: ["vitest.config.ts"] }, tsconfigRootDir: import.meta.dirname },
    },
    plugins: {
      "@typescript-eslint": tseslint.plugin,
      vitest,
      local: { rules: { "no-unchecked-rpc-result": noUncheckedRpcResult, "no-status-only-test": noStatusOnlyTest, "no-console": noConsole } },
    },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": ["error", { checksVoidReturn: false }],
      "@typescript-eslint/no-explicit-any": "error",
      "local/no-unchecked-rpc-result": "error",
      "vitest/no-focused-tests": "error",
      "vitest/no-disabled-tests": "error",
    },
  },
  {
    files: ["**/*.test.ts"],
    rules: { "local/no-status-only-test": "error" },
  },
  {
    // Worker code logs through the one structured logger (workers/shared/src/log.ts), which is the
    // only file that may write to the console; tests may spy on it.
    files: ["workers/**/*.ts", "durable-objects/**/*.ts"],
    ignores: ["**/*.test.ts", "workers/shared/src/log.ts"],
    rules: { "local/no-console": "error" },
  },
);
