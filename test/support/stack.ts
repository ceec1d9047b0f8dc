import { existsSync, readdirSync } from "node:fs";
import { createTestHarness, type TestHarness } from "wrangler";
import { generateLocalSecrets, secretsFor } from "../../scripts/local-secrets.mjs";
import { WORKERS } from "../../scripts/workers.mjs";

/**
 * The one way to start the whole stack in a system test (one per test file); fake-upstream
 * providers on top of it: `startCoreStack` in test/fake-upstream/stack.ts.
 */

export interface Stack {
  url: string;
  adminToken: string;
  harness: TestHarness;
  close(): Promise<void>;
}

/** Per-Worker D1 bindings whose migrations must be applied before the stack serves requests. */
export const D1_BINDINGS = {
  auth: { binding: "AUTH_DB", dir: "migrations/auth" },
  billing: { binding: "BILLING_DB", dir: "migrations/billing" },
  "model-proxy": { binding: "PROXY_DB", dir: "migrations/proxy" },
  tail: { binding: "TAIL_DB", dir: "migrations/tail" },
} as const satisfies Record<string, { binding: string; dir: string }>;
const hasMigrations = (dir: string) => existsSync(dir) && readdirSync(dir).some((f) => f.endsWith(".sql"));

/**
 * The test stack's determinism (workers/shared/src/test-clock.ts), honoured only with
 * ENVIRONMENT=test and TEST_CLOCK=true, which no wrangler config sets: the limiter's clock can be
 * moved (test/support/limiter.ts), model-proxy's random choices (weighted routing) are seeded.
 */
const TEST_VARS: Record<string, Record<string, string>> = {
  "rate-limiter": { ENVIRONMENT: "test", TEST_CLOCK: "true" },
  "model-proxy": { ENVIRONMENT: "test", TEST_CLOCK: "true", ROUTING_SEED: "20" },
};

export interface StackOptions {
  /** Extra vars per Worker name, e.g. `{ "model-proxy": { PLATFORM_PROVIDERS: "…" } }`. */
  vars?: Record<string, Record<string, string>>;
}

/**
 * Starts all seven Workers from their wrangler configs in one local runtime (real local D1, KV,
 * R2, Queues and Durable Objects, fresh storage), applies every D1 migration and returns the
 * gateway's URL. Loopback upstreams are allowed, as under `npm run dev`.
 */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const secrets = await generateLocalSecrets();
  const ordered = [...WORKERS].sort((a, b) => (a.name === "gateway" ? -1 : b.name === "gateway" ? 1 : 0));
  const harness = createTestHarness({
    workers: ordered.map((w) => ({
      configPath: w.config,
      secrets: secretsFor(w.name, secrets),
      vars: {
        ...(w.name === "model-proxy" ? { ALLOW_PRIVATE_UPSTREAMS: "true" } : {}),
        ...(TEST_VARS[w.name] ?? {}),
        ...(options.vars?.[w.name] ?? {}),
      },
    })),
  });
  const { url } = await harness.listen();
  for (const [worker, { binding, dir }] of Object.entries(D1_BINDINGS)) {
    if (hasMigrations(dir)) await harness.getWorker(worker).applyD1Migrations(binding);
  }
  return {
    url: url.toString().replace(/\/$/, ""),
    adminToken: secrets.ADMIN_TOKEN,
    harness,
    close: () => harness.close(),
  };
}
