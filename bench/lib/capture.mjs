// Lets wrangler and Miniflare build the stack exactly as `npm run dev` and the system tests do
// (same wrangler configs, same bundling, Miniflare's D1/KV/R2/Queues/Durable Object Workers), with
// the bench's own Workers added beside ours, then keeps only what workerd needs: the generated
// config (MINIFLARE_WORKERD_CONFIG_DEBUG) and the D1 files after the migrations ran.
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestHarness } from "wrangler";
import { generateLocalSecrets, secretsFor } from "../../scripts/local-secrets.mjs";
import { WORKERS } from "../../scripts/workers.mjs";
import { miniflare } from "./miniflare.mjs";
import { reviveConfig } from "./workerd-config.mjs";

/** Per-Worker D1 bindings whose migrations are applied before the capture (as in test/support/stack.ts). */
/** Per-Worker D1 binding → its migrations folder (a Worker whose database has no schema yet has none). */
const D1_BINDINGS = {
  auth: { binding: "AUTH_DB", dir: "migrations/auth" },
  billing: { binding: "BILLING_DB", dir: "migrations/billing" },
  "model-proxy": { binding: "PROXY_DB", dir: "migrations/proxy" },
  tail: { binding: "TAIL_DB", dir: "migrations/tail" },
};

/**
 * @typedef {object} BenchWorker
 * @property {string} name
 * @property {string} main path from the repo root
 * @property {Record<string, string>} [vars]
 * @property {{ binding: string, service: string, entrypoint?: string }[]} [services] service bindings to other bench Workers
 */

/**
 * @typedef {object} Captured
 * @property {any} config Miniflare's workerd config, revived (see reviveConfig)
 * @property {string} d1Dir a copy of the D1 storage with every migration applied
 * @property {string} adminToken the gateway's admin token in this config
 * @property {string} compatibilityDate the gateway's, used for the bench Workers too
 */

/**
 * @param {object} options
 * @param {string} options.root repo root
 * @param {string} options.stateDir where the copied D1 storage goes
 * @param {Record<string, Record<string, string>>} options.vars extra vars per stack Worker
 * @param {BenchWorker[]} options.benchWorkers floor, upstream, sink: run as user Workers like ours
 * @param {string} options.compatibilityDate
 * @returns {Promise<Captured>}
 */
export async function captureStack({ root, stateDir, vars, benchWorkers, compatibilityDate }) {
  const dumpDir = mkdtempSync(join(tmpdir(), "bench-capture-"));
  const dump = join(dumpDir, "workerd-config.json");
  const secrets = await generateLocalSecrets();
  const ordered = [...WORKERS].sort((a, b) => (a.name === "gateway" ? -1 : b.name === "gateway" ? 1 : 0));
  const previous = process.env.MINIFLARE_WORKERD_CONFIG_DEBUG;
  process.env.MINIFLARE_WORKERD_CONFIG_DEBUG = dump;
  const harness = createTestHarness({
    root,
    workers: [
      ...ordered.map((w) => ({ configPath: w.config, secrets: secretsFor(w.name, secrets), vars: vars[w.name] ?? {} })),
      ...benchWorkers.map((b) => ({
        config: { name: b.name, main: join(root, b.main), compatibility_date: compatibilityDate, vars: b.vars ?? {}, services: b.services ?? [] },
      })),
    ],
  });
  try {
    await quietly(() => harness.listen());
    for (const [worker, { binding, dir }] of Object.entries(D1_BINDINGS)) {
      const folder = join(root, dir);
      // git keeps no empty folder, so a fresh clone has none for a database without migrations.
      if (!existsSync(folder) || !readdirSync(folder).some((f) => f.endsWith(".sql"))) continue;
      await quietly(() => harness.getWorker(worker).applyD1Migrations(binding));
    }
    if (!existsSync(dump)) throw new Error("Miniflare did not write its workerd config (MINIFLARE_WORKERD_CONFIG_DEBUG unsupported?)");
    const config = reviveConfig(JSON.parse(readFileSync(dump, "utf8")), miniflare.kVoid);
    const d1 = config.services.find((/** @type {any} */ s) => s.name === "d1:storage")?.disk?.path;
    if (!d1) throw new Error('the captured config has no "d1:storage" disk');
    // Every migration has been awaited, so the SQLite files (with their WAL) are consistent here.
    const d1Dir = join(stateDir, "d1");
    cpSync(d1, d1Dir, { recursive: true });
    return { config, d1Dir, adminToken: secrets.ADMIN_TOKEN, compatibilityDate };
  } finally {
    await harness.close();
    if (previous === undefined) delete process.env.MINIFLARE_WORKERD_CONFIG_DEBUG;
    else process.env.MINIFLARE_WORKERD_CONFIG_DEBUG = previous;
    rmSync(dumpDir, { recursive: true, force: true });
  }
}

/**
 * Runs `fn` with wrangler's console chatter (the offline `Request.cf` warning, migration tables)
 * held back; prints it only if `fn` fails.
 * @template T @param {() => Promise<T>} fn @returns {Promise<T>}
 */
export async function quietly(fn) {
  /** @type {unknown[][]} */
  const held = [];
  const original = { log: console.log, info: console.info, warn: console.warn, error: console.error };
  const hold = (/** @type {unknown[]} */ ...args) => void held.push(args);
  Object.assign(console, { log: hold, info: hold, warn: hold, error: hold });
  try {
    return await fn();
  } catch (err) {
    Object.assign(console, original);
    for (const args of held) console.error(...args);
    throw err;
  } finally {
    Object.assign(console, original);
  }
}
