import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { existsSync, globSync } from "node:fs";
import { defineConfig } from "vitest/config";
import { ensureDocsAssets } from "./scripts/docs-assets.mjs";
import { generateLocalSecrets, secretsFor } from "./scripts/local-secrets.mjs";

const COMPAT = "2026-10-01";

/**
 * Stand-ins for the Workers a unit under test is bound to, so each Worker's unit tests run alone
 * inside workerd with its real wrangler config. Cross-Worker behaviour is covered by the system
 * tests, which run the real seven Workers together.
 */
const stub = (name: string, body: string, extra: Record<string, unknown> = {}) => ({
  ...extra,
  name,
  modules: true,
  compatibilityDate: COMPAT,
  script: `import { WorkerEntrypoint, DurableObject } from "cloudflare:workers";\n${body}\nexport default { fetch() { return new Response("stub", { status: 404 }); } };`,
});
const STUBS = {
  auth: stub("auth", "export class AuthService extends WorkerEntrypoint {}\nexport class BillingAudit extends WorkerEntrypoint {}"),
  tail: stub(
    "tail",
    "export class TailService extends WorkerEntrypoint {}\nexport class TailApiService extends WorkerEntrypoint {}\nexport class TenantEvents extends WorkerEntrypoint {}",
  ),
  // tail's batch consumer is unit-tested with its own line runner; the binding only has to exist.
  gateway: stub("gateway", "export class BatchLineService extends WorkerEntrypoint {}\nexport class AgentStepService extends WorkerEntrypoint {}"),
  // monthSpend: a new billing ledger (nothing recorded yet), which is what the limiter seeds budgets from.
  billing: stub("billing", "export class BillingService extends WorkerEntrypoint { monthSpend() { return { ok: true, value: { micros: 0 } }; } }"),
  // WebhookSecrets: a stand-in that keeps the secret readable (the real envelope is tested in secrets' own project).
  secrets: stub(
    "secrets",
    "export class SecretsService extends WorkerEntrypoint {}\n" +
      "export class WebhookSecrets extends WorkerEntrypoint {\n" +
      "  seal(i) { return { ok: true, value: { envelope: JSON.stringify({ stub: i.secret }) } }; }\n" +
      "  open(i) { return { ok: true, value: { secret: JSON.parse(i.envelope).stub, rewrapped: null } }; }\n" +
      "}",
  ),
  "model-proxy": stub("model-proxy", "export class ModelProxyService extends WorkerEntrypoint {}\nexport class ProvidersService extends WorkerEntrypoint {}"),
  "rate-limiter": stub("rate-limiter", "export class RateLimiterService extends WorkerEntrypoint {}\nexport class RateLimiter extends DurableObject {}", {
    durableObjects: { RATE_LIMITER: "RateLimiter" },
  }),
};

/** Each Worker's unit tests run inside workerd with that Worker's own bindings. */
const UNIT = [
  { name: "gateway", config: "./wrangler.toml", include: ["workers/gateway/**/*.test.ts"], bound: ["auth", "tail", "billing", "model-proxy", "rate-limiter"] },
  { name: "auth", config: "./workers/auth/wrangler.toml", include: ["workers/auth/**/*.test.ts"], bound: [] },
  {
    name: "tail",
    config: "./workers/tail/wrangler.toml",
    include: ["workers/tail/**/*.test.ts", "durable-objects/batch-coordinator*.test.ts"],
    bound: ["model-proxy", "gateway", "secrets"],
  },
  { name: "billing", config: "./workers/billing/wrangler.toml", include: ["workers/billing/**/*.test.ts"], bound: ["tail", "auth"] },
  { name: "secrets", config: "./workers/secrets/wrangler.toml", include: ["workers/secrets/**/*.test.ts"], bound: [] },
  {
    name: "model-proxy",
    config: "./workers/model-proxy/wrangler.toml",
    include: ["workers/model-proxy/**/*.test.ts", "durable-objects/circuit-breaker.test.ts"],
    bound: ["secrets"],
  },
  {
    name: "rate-limiter",
    config: "./workers/rate-limiter/wrangler.toml",
    include: ["workers/rate-limiter/**/*.test.ts", "durable-objects/rate-limiter*.test.ts"],
    bound: ["billing"],
  },
  // Library code: no bindings at all.
  { name: "shared", config: null, include: ["workers/shared/**/*.test.ts"], bound: [] },
] as const;

/**
 * tail's unit tests drive its batch consumer themselves (durable-objects/batch-coordinator.test.ts):
 * the chunks a coordinator sends go to a queue nothing consumes, so no background consumer races them.
 */
const UNIT_OVERRIDES: Record<string, Record<string, unknown>> = {
  tail: { queueProducers: { BATCH_REQUESTS: { queueName: "batch-requests-unit-tests" }, WEBHOOKS: { queueName: "webhooks-unit-tests" } } },
};

/**
 * D1 migrations per Worker, handed to its unit tests as the `TEST_MIGRATIONS` binding so a test can
 * `applyD1Migrations(env.<DB>, env.TEST_MIGRATIONS)` and run against the real schema.
 */
const MIGRATIONS: Record<string, string> = {
  auth: "migrations/auth",
  billing: "migrations/billing",
  "model-proxy": "migrations/proxy",
  tail: "migrations/tail",
};
// A database without migrations has no folder in a fresh clone (git keeps no empty dirs): no binding then.
const testMigrations = async (worker: string) =>
  MIGRATIONS[worker] && existsSync(MIGRATIONS[worker]!) ? { TEST_MIGRATIONS: await readD1Migrations(MIGRATIONS[worker]!) } : {};

/**
 * Fresh local secrets for the unit projects, so tests never depend on a developer's `.dev.vars`
 * (a fresh clone in CI has none). The gateway's name in `secretsFor` is the root config's.
 */
const SECRETS = await generateLocalSecrets();
const testSecrets = (worker: string) => secretsFor(worker, SECRETS);
// While it reads a unit project's wrangler config, wrangler looks for the `[secrets] required` in
// .dev.vars, .env or this process's environment, and warns for each one missing (once per project;
// a fresh clone has no .dev.vars): the same generated values the projects get as bindings.
for (const [name, value] of Object.entries(SECRETS)) process.env[name] ??= value;

// `/docs`'s renderer, copied from node_modules into the gateway's static assets (the stack serves them).
ensureDocsAssets();

const hasTests = (include: readonly string[]) => include.some((p) => globSync(p, { exclude: ["**/node_modules/**"] }).length > 0);

export default defineConfig({
  test: {
    projects: [
      ...(await Promise.all(
        UNIT.filter((u) => hasTests(u.include)).map(async (u) => ({
          plugins: [
            cloudflareTest(
              u.config
                ? {
                    wrangler: { configPath: u.config },
                    miniflare: {
                      workers: u.bound.map((b) => STUBS[b]),
                      bindings: { ...testSecrets(u.name), ...(await testMigrations(u.name)) },
                      ...(UNIT_OVERRIDES[u.name] ?? {}),
                    },
                  }
                : { miniflare: { compatibilityDate: COMPAT } },
            ),
          ],
          test: {
            name: `unit:${u.name}`,
            include: [...u.include],
            exclude: ["**/*.system.test.ts", "**/node_modules/**"],
          },
        })),
      )),
      {
        test: {
          name: "system",
          include: ["test/**/*.system.test.ts"],
          // The log scan of the whole run (no key, token, password or prompt in any Worker's log).
          globalSetup: ["test/support/log-scan-setup.ts"],
          environment: "node",
          testTimeout: 60_000,
          hookTimeout: 120_000,
          // One stack per file; files run one at a time so two stacks never compete for 2 cores.
          fileParallelism: false,
          // All files in one worker process: wrangler, the SDKs and the support modules are loaded
          // once per run instead of once per file. Each file still starts and closes its own stack.
          isolate: false,
          // Its own group (after the unit projects, whose worker count differs), before the browser's.
          sequence: { groupOrder: 1 },
        },
      },
      // Browser tests (Playwright driving Debian's Chromium) against the whole stack: the global
      // setup installs Chromium when it is missing (test/support/browser.ts).
      {
        test: {
          name: "browser",
          include: ["test/**/*.browser.test.ts"],
          environment: "node",
          globalSetup: ["test/support/browser-setup.ts", "test/support/log-scan-setup.ts"],
          testTimeout: 60_000,
          hookTimeout: 300_000,
          fileParallelism: false,
          sequence: { groupOrder: 2 },
        },
      },
      // The bench's pure helpers (config rewriting, percentiles, report); the bench itself is `npm run bench`.
      { test: { name: "bench", include: ["bench/**/*.test.mjs"], environment: "node" } },
      // The project's own lint rules (scripts/eslint), tested with ESLint's RuleTester.
      { test: { name: "tooling", include: ["scripts/**/*.test.mjs"], environment: "node" } },
    ],
  },
});
