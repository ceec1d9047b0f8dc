import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createTestHarness, type TestHarness } from "wrangler";
import { startDirectStack as startDirectWorkerd } from "../../bench/lib/direct-stack.mjs";
import { generateLocalSecrets, secretsFor } from "../../scripts/local-secrets.mjs";
import { registerSecret } from "./log-scan";
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
 * moved (test/support/limiter.ts), and a batch's (test/support/batches.ts); model-proxy's random
 * choices (weighted routing) are seeded; the gateway's in-memory caches expire when a test moves
 * the gateway's clock (./propagation.ts).
 */
const TEST_VARS: Record<string, Record<string, string>> = {
  // The gateway's isolate caches follow a clock the tests move past their lifetimes (./propagation.ts).
  gateway: { ENVIRONMENT: "test", TEST_CLOCK: "true" },
  // Sessions, invites and sign-in slowdowns run on the gateway's clock (workers/auth/src/users/clock.ts).
  auth: { ENVIRONMENT: "test", TEST_CLOCK: "true" },
  "rate-limiter": { ENVIRONMENT: "test", TEST_CLOCK: "true" },
  "model-proxy": { ENVIRONMENT: "test", TEST_CLOCK: "true", ROUTING_SEED: "20" },
  // Batches: each BatchCoordinator's completion window can be moved (test/support/batches.ts). A
  // failed webhook delivery is retried after 1 s, 2 s, … (production: 30 s, 1 min, …): the backoff
  // itself is exercised, in seconds instead of minutes.
  tail: { ENVIRONMENT: "test", TEST_CLOCK: "true", WEBHOOK_RETRY_BASE_SECONDS: "1" },
};

export interface StackOptions {
  /** Extra vars per Worker name, e.g. `{ "model-proxy": { PLATFORM_PROVIDERS: "…" } }`. */
  vars?: Record<string, Record<string, string>>;
}

/**
 * Starts all seven Workers from their wrangler configs in one local runtime (real local D1, KV,
 * R2, Queues and Durable Objects, fresh storage), applies every D1 migration and returns the
 * gateway's URL. Loopback upstreams (and webhook receivers) are allowed, as under `npm run dev`.
 */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const secrets = await generateLocalSecrets();
  // The admin token, master keys and signing keys: never in a Worker's log (the run's log scan).
  for (const value of Object.values(secrets)) if (typeof value === "string") registerSecret(value.startsWith("{") ? privatePart(value) : value);
  const ordered = [...WORKERS].sort((a, b) => (a.name === "gateway" ? -1 : b.name === "gateway" ? 1 : 0));
  const harness = createTestHarness({
    workers: ordered.map((w) => ({
      configPath: w.config,
      secrets: secretsFor(w.name, secrets),
      vars: {
        ...(w.name === "model-proxy" || w.name === "tail" ? { ALLOW_PRIVATE_UPSTREAMS: "true" } : {}),
        ...(TEST_VARS[w.name] ?? {}),
        ...(options.vars?.[w.name] ?? {}),
      },
    })),
  });
  const { url } = await harness.listen();
  // The four databases are independent: migrated side by side.
  await Promise.all(
    Object.entries(D1_BINDINGS)
      .filter(([, { dir }]) => hasMigrations(dir))
      .map(([worker, { binding }]) => harness.getWorker(worker).applyD1Migrations(binding)),
  );
  return {
    url: url.toString().replace(/\/$/, ""),
    adminToken: secrets.ADMIN_TOKEN,
    harness,
    close: async () => {
      saveWorkerLogs(harness);
      await harness.close();
    },
  };
}

/** A private JWK's secret member (`d`); a public one has nothing to hide. */
function privatePart(jwk: string): string {
  const d = (JSON.parse(jwk) as { d?: unknown }).d;
  return typeof d === "string" ? d : "";
}

let stacks = 0;
/**
 * Every Worker's log output of this stack, one line per log entry, to a git-ignored file of the
 * run (`test-results/logs/`), for the log scan (./log-scan.ts: no key, token, password or prompt).
 */
function saveWorkerLogs(harness: TestHarness): void {
  const dir = join(ROOT, "test-results", "logs");
  mkdirSync(dir, { recursive: true });
  const lines = harness.getLogs().map((l) => `${l.level} ${l.message.replace(/\n/g, "\\n")}`);
  writeFileSync(join(dir, `stack-${process.pid}-${Date.now()}-${++stacks}.log`), lines.join("\n"));
}

/** The gateway of a stack that workerd serves by itself (`startDirectStack`): no harness, no Node hop. */
export interface DirectStack {
  url: string;
  adminToken: string;
  close(): Promise<void>;
}

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/**
 * The same seven Workers, bindings and test vars as `startStack`, served by a plain `workerd serve`
 * with the config `npm run bench` uses (bench/lib/direct-stack.mjs): each Worker's outbound
 * `fetch()` goes straight to the network and the gateway's socket is workerd's own. Only for what
 * the harness cannot show: under `createTestHarness` every outbound fetch crosses Miniflare's
 * loopback server in Node, which keeps the upstream connection open after the Worker aborted its
 * fetch, and its HTTP listener does not pass a client's reset on. Slower to start (wrangler builds
 * the stack, then workerd starts again on the captured config); there is no `harness` to reach a
 * Worker's bindings directly, so such a test asserts through the public API.
 */
export async function startDirectStack(options: StackOptions = {}): Promise<DirectStack> {
  const names = new Set([...Object.keys(TEST_VARS), ...Object.keys(options.vars ?? {}), "model-proxy"]);
  const vars: Record<string, Record<string, string>> = {};
  for (const name of names) {
    vars[name] = {
      ...(name === "model-proxy" ? { ALLOW_PRIVATE_UPSTREAMS: "true" } : {}),
      ...(TEST_VARS[name] ?? {}),
      ...(options.vars?.[name] ?? {}),
    };
  }
  const compatibilityDate = /compatibility_date\s*=\s*"([^"]+)"/.exec(readFileSync(join(ROOT, "wrangler.toml"), "utf8"))?.[1];
  if (!compatibilityDate) throw new Error("no compatibility_date in wrangler.toml");
  const stack = await startDirectWorkerd({ root: ROOT, compatibilityDate, vars });
  return { url: stack.url, adminToken: stack.adminToken, close: () => stack.close() };
}

let generation = 0;

/**
 * Restarts every Worker of a running stack on the same storage: the runtime reloads (new isolates,
 * empty isolate memory) while D1, KV, R2, Queues and Durable Object storage stay. What a test reads
 * afterwards can only come from that storage, as on Workers, where each request may land in another
 * isolate. The URL stays the same.
 */
export async function restartStack(stack: Pick<Stack, "harness">): Promise<void> {
  const mark = String(++generation);
  await stack.harness.update((current) => ({
    ...current,
    workers: current.workers.map((w) => ("configPath" in w ? { ...w, vars: { ...w.vars, STACK_GENERATION: mark } } : w)),
  }));
}
