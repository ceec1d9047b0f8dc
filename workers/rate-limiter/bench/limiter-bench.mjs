// The limiter micro-benchmark: what one RateLimiter call costs per request, by design choice, on
// raw `workerd serve` (no Miniflare/Node on the request path), measured with the same load
// generator and statistics as `npm run bench` (bench/lib).
//
//   node workers/rate-limiter/bench/limiter-bench.mjs [--quick] [--storage /dev/shm] [--json out.json]
//
// Exported `runLimiterBench()` lets `npm run bench` include the table in its report.
import { build } from "esbuild";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { kVoid } from "miniflare";
import { runLoad } from "../../../bench/lib/load.mjs";
import { freePort } from "../../../bench/lib/stack.mjs";
import { cpuMs, serveWorkerd } from "../../../bench/lib/workerd.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../../..");
const ROUTES = (
  process.env.LIMITER_BENCH_ROUTES ??
  "/worker,/ping,/acquire-memory,/acquire,/acquire-settle,/acquire-settle-carried,/acquire-settle-per-event,/acquire-settle-sharded"
).split(",");

/**
 * @param {{ quick?: boolean, storageDir?: string, routes?: string[], log?: (s: string) => void }} [options]
 *   storageDir: where the objects' SQLite files live. On a disk, every commit pays the disk's
 *   fsync; on tmpfs (/dev/shm) only the CPU cost of SQLite and the output gate remains, which is
 *   closer to production, where durability comes from replication rather than a local fsync.
 * @returns {Promise<{ route: string, p50: number, p90: number, p99: number, rps: number, cpuUs: number }[]>}
 */
export async function runLimiterBench({ quick = false, storageDir = tmpdir(), routes = ROUTES, log = (s) => process.stderr.write(s + "\n") } = {}) {
  const dir = mkdtempSync(join(storageDir, "limiter-bench-"));
  try {
    const bundle = await build({
      entryPoints: [join(here, "worker.ts")],
      bundle: true,
      format: "esm",
      platform: "neutral",
      target: "es2022",
      external: ["cloudflare:*"],
      write: false,
      mainFields: ["module", "main"],
      conditions: ["workerd", "worker", "browser"],
      logLevel: "silent",
    });
    const code = bundle.outputFiles[0].text;
    const compatibilityDate = /compatibility_date\s*=\s*"([^"]+)"/.exec(readFileSync(join(root, "workers/rate-limiter/wrangler.toml"), "utf8"))?.[1];
    const storage = join(dir, "do");
    mkdirSync(storage, { recursive: true });
    const port = await freePort();
    const config = {
      services: [
        {
          name: "bench",
          worker: {
            modules: [{ name: "worker.js", esModule: code }],
            compatibilityDate,
            bindings: [
              { name: "RATE_LIMITER", durableObjectNamespace: { className: "RateLimiter" } },
              { name: "MEMORY_LIMITER", durableObjectNamespace: { className: "MemoryRateLimiter" } },
              { name: "PER_EVENT_LIMITER", durableObjectNamespace: { className: "PerEventRateLimiter" } },
              { name: "BILLING", service: { name: "billing-stub", entrypoint: "BillingService" } },
            ],
            durableObjectNamespaces: [
              { className: "RateLimiter", uniqueKey: "bench-rate-limiter", enableSql: true },
              { className: "MemoryRateLimiter", uniqueKey: "bench-memory-limiter", enableSql: true },
              { className: "PerEventRateLimiter", uniqueKey: "bench-per-event-limiter", enableSql: true },
            ],
            durableObjectStorage: process.env.LIMITER_BENCH_MEMORY ? { inMemory: kVoid } : { localDisk: "do-disk" },
          },
        },
        {
          // Billing as the limiter sees it: asked once per budgeted subject and month.
          name: "billing-stub",
          worker: {
            modules: [
              {
                name: "billing.js",
                esModule:
                  'import { WorkerEntrypoint } from "cloudflare:workers";\nexport class BillingService extends WorkerEntrypoint { monthSpend() { return { ok: true, value: { micros: 0 } }; } }\nexport default { fetch() { return new Response("", { status: 404 }); } };',
              },
            ],
            compatibilityDate,
          },
        },
        { name: "do-disk", disk: { path: storage, writable: true } },
      ],
      sockets: [{ name: "http", address: `127.0.0.1:${port}`, http: {}, service: { name: "bench" } }],
    };
    const base = `http://127.0.0.1:${port}`;
    const served = await serveWorkerd(config, { dir, readyUrls: [`${base}/worker`] });
    try {
      const plan = quick ? { warm: 1, c1: 2, c32: 2 } : { warm: 2, c1: 5, c32: 5 };
      /** @type {{ route: string, p50: number, p90: number, p99: number, rps: number, cpuUs: number }[]} */
      const rows = [];
      for (const route of routes) {
        const target = { url: base + route, method: /** @type {const} */ ("GET"), headers: {} };
        await runLoad(target, { connections: 4, seconds: plan.warm });
        const serial = await runLoad(target, { connections: 1, seconds: plan.c1 });
        const cpuBefore = cpuMs(served.pid);
        const loaded = await runLoad(target, { connections: 32, seconds: plan.c32 });
        // CPU time workerd spent per request at concurrency 32 (all its threads, from /proc): unlike
        // req/s it barely moves when other work loads the machine. 1 / it is the ceiling of one core.
        const cpuUs = ((cpuMs(served.pid) - cpuBefore) * 1000) / loaded.requests;
        rows.push({ route, p50: serial.latency.p50, p90: serial.latency.p90, p99: serial.latency.p99, rps: loaded.rps, cpuUs });
        log(
          `${route.padEnd(16)} p50 ${serial.latency.p50.toFixed(3)} ms  p99 ${serial.latency.p99.toFixed(3)} ms  ${Math.round(loaded.rps)} req/s @32  ${cpuUs.toFixed(0)} µs CPU/request`,
        );
      }
      return rows;
    } finally {
      await served.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Markdown table: latency at concurrency 1, added over the floor, throughput at 32.
 * @param {{ route: string, p50: number, p99: number, rps: number, cpuUs: number }[]} rows
 */
export function renderLimiterTable(rows) {
  const floor = rows.find((r) => r.route === "/worker")?.p50 ?? 0;
  const lines = [
    "| limiter work per request | p50 (c=1) | added vs no DO | p99 (c=1) | req/s (c=32, one object) | workerd CPU per request |",
    "|---|---|---|---|---|---|",
  ];
  for (const r of rows) {
    lines.push(
      `| \`${r.route}\` | ${r.p50.toFixed(3)} ms | +${(r.p50 - floor).toFixed(3)} ms | ${r.p99.toFixed(3)} ms | ${Math.round(r.rps)} | ${r.cpuUs.toFixed(0)} µs |`,
    );
  }
  return lines.join("\n");
}

/**
 * The lines `npm run bench` prints: one object's ceiling (acquire + settle per request, all on one
 * object) and the same work spread over 4 shard objects that borrow from one parent.
 * @param {{ route: string, p50: number, rps: number, cpuUs: number }[]} rows
 */
export function renderLimiterCeiling(rows) {
  const at = (/** @type {string} */ r) => rows.find((x) => x.route === r);
  const one = at("/acquire-settle");
  const carried = at("/acquire-settle-carried");
  const sharded = at("/acquire-settle-sharded");
  const floor = at("/worker");
  const lines = ["Limiter (raw workerd, workers/rate-limiter/bench; acquire + settle per request, concurrency 32)"];
  const cpu = (/** @type {{ cpuUs: number }} */ r) =>
    `${r.cpuUs.toFixed(0)} µs of workerd CPU per request (${floor ? `${(r.cpuUs - floor.cpuUs).toFixed(0)} over no object; ` : ""}load-proof)`;
  if (one)
    lines.push(
      `  one object's ceiling, two calls per request: ${Math.round(one.rps)} req/s; p50 at concurrency 1 ${one.p50.toFixed(3)} ms (+${(one.p50 - (floor?.p50 ?? 0)).toFixed(3)} over no object); ${cpu(one)}`,
    );
  if (carried)
    lines.push(
      `  one object's ceiling, settlement carried by the next acquire (what the gateway does): ${Math.round(carried.rps)} req/s; p50 ${carried.p50.toFixed(3)} ms (+${(carried.p50 - (floor?.p50 ?? 0)).toFixed(3)}); ${cpu(carried)}`,
    );
  if (sharded && one) {
    lines.push(
      `  sharded over 4 shard objects borrowing from one parent: ${Math.round(sharded.rps)} req/s (${(sharded.rps / one.rps).toFixed(2)}× one object: every object of a local workerd shares one thread, so this shows the sharded path's cost, not its scaling); p50 ${sharded.p50.toFixed(3)} ms`,
    );
  }
  return lines.join("\n");
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const dirAt = args.indexOf("--storage");
  const rows = await runLimiterBench({ quick: args.includes("--quick"), storageDir: dirAt >= 0 ? args[dirAt + 1] : undefined });
  console.log(renderLimiterTable(rows));
  const jsonAt = args.indexOf("--json");
  if (jsonAt >= 0 && args[jsonAt + 1]) writeFileSync(args[jsonAt + 1], JSON.stringify(rows, null, 2));
}
