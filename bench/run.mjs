// `npm run bench`: what the gateway adds to a chat request, measured against a bare forwarding
// Worker under exactly the same runtime, and against a Node-based gateway on the same machine.
// See bench/README.md for the method and what was found about the local runtime.
//
//   npm run bench                     full run (~2.5 minutes on 2 cores)
//   npm run bench -- --quick          shorter runs, for trying things out
//   npm run bench -- --no-portkey     skip the Node gateway comparison
//   npm run bench -- --breakdown      instead of timing: JavaScript time per request per Worker,
//                                     from workerd's async trace (where to optimise)
//   npm run bench -- --profile        instead of timing: V8 CPU profiles of gateway, tail and model-proxy
//                                     (self time per function per request; where --breakdown's time goes)
//   npm run bench -- --profile-limited
//                                     the same for the rate-limited key: gateway and the rate-limiter object
//   npm run bench -- --storage-in-memory
//                                     local storage (D1, KV, Durable Objects) on tmpfs (/dev/shm):
//                                     shows how much of a storage write is this machine's fsync
//   npm run bench -- --compare-miniflare
//                                     also time the floor under Miniflare's own config (wrangler dev)
//   npm run bench -- --keep-state     keep workerd's configs, logs and storage (path printed)
//   npm run bench -- --batch-only     only the 10,000-line batch (Files + Batch APIs), lines per second
//   npm run bench -- --no-batch       timings without the batch
//   npm run bench -- --no-limiter     timings without the limiter's per-object ceiling and sharded path
//   npm run bench -- --breakdown --chain-only
//                                     the breakdown of the relay (the control) and the unlimited chain only
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, platform, release, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { runBatchBench } from "./lib/batch.mjs";
import { renderLimiterCeiling, runLimiterBench } from "../workers/rate-limiter/bench/limiter-bench.mjs";
import { analyzeTrace, renderBreakdown } from "./lib/breakdown.mjs";
import { runLoad } from "./lib/load.mjs";
import { startProfiles, summarizeProfile } from "./lib/profile.mjs";
import { ensurePortkey, portkeyDir, PORTKEY_VERSION, startPortkey } from "./lib/portkey.mjs";
import { deriveMode, measurement, renderTables, TARGETS } from "./lib/report.mjs";
import { createBenchTenant, platformProviderVars } from "./lib/setup.mjs";
import { freePort, startBenchStack, startMiniflareFloor } from "./lib/stack.mjs";
import { chatTargets, MODES, portkeyTarget, withBase } from "./lib/targets.mjs";
import { WORKERD } from "./lib/workerd.mjs";

/** @typedef {import("./lib/load.mjs").Target} Target */

const root = resolve(dirname(new URL(import.meta.url).pathname), "..");
const results = join(root, "bench/results");
const args = new Set(process.argv.slice(2));
const KNOWN = [
  "--quick",
  "--no-portkey",
  "--with-portkey",
  "--breakdown",
  "--profile",
  "--profile-limited",
  "--storage-in-memory",
  "--compare-miniflare",
  "--keep-state",
  "--batch-only",
  "--no-batch",
  "--no-limiter",
  "--chain-only",
];
for (const a of args) if (!KNOWN.includes(a)) fail(`unknown option ${a} (known: ${KNOWN.join(" ")})`);
const quick = args.has("--quick");
const breakdown = args.has("--breakdown");
const profileLimited = args.has("--profile-limited");
const profile = args.has("--profile") || profileLimited;
const batchOnly = args.has("--batch-only");
const withPortkey = !args.has("--no-portkey") && !breakdown && !batchOnly && !profile;
const inMemory = args.has("--storage-in-memory");

/** How long each measurement runs. Latency runs are split into rounds that interleave the targets, so slow drift of the machine hits every target alike. */
const PLAN = quick
  ? { rounds: 2, roundSeconds: 1, warmupSeconds: 1, throughputSeconds: 2, concurrency: 32 }
  : { rounds: 4, roundSeconds: 2, warmupSeconds: 1, throughputSeconds: 5, concurrency: 32 };

const COMPATIBILITY_DATE = /compatibility_date\s*=\s*"([^"]+)"/.exec(readFileSync(join(root, "wrangler.toml"), "utf8"))?.[1];
if (!COMPATIBILITY_DATE) fail("no compatibility_date in wrangler.toml");
const log = (/** @type {string} */ s) => process.stderr.write(s + "\n");

const loadAtStart = loadavg()[0] ?? 0;
if (loadAtStart > availableParallelism() / 4) {
  log(`note: the machine is busy (1-minute load average ${loadAtStart.toFixed(2)} on ${availableParallelism()} cores); numbers will be noisy.`);
}
mkdirSync(results, { recursive: true });
const tracePath = join(results, "async-trace.jsonl");
const inspectorPort = profile ? await freePort() : undefined;
log("Starting the stack (wrangler builds it; workerd serves it without Miniflare's Node proxy, the upstream in a workerd of its own)…");
const stack = await startBenchStack({
  root,
  compatibilityDate: COMPATIBILITY_DATE,
  vars: ({ upstream }) => ({ "model-proxy": platformProviderVars(upstream) }),
  keepState: args.has("--keep-state"),
  ...(inMemory ? { stateRoot: "/dev/shm" } : {}),
  ...(breakdown ? { asyncTrace: tracePath } : {}),
  ...(inspectorPort ? { inspectorPort } : {}),
});
/** @type {Awaited<ReturnType<typeof startPortkey>> | undefined} */
let portkey;
/** @type {Awaited<ReturnType<typeof startMiniflareFloor>> | undefined} */
let miniflareFloor;
let closed = false;
const cleanup = async () => {
  if (closed) return;
  closed = true;
  await portkey?.stop();
  await miniflareFloor?.close();
  await stack.close();
};
for (const signal of /** @type {const} */ (["SIGINT", "SIGTERM"])) process.once(signal, () => void cleanup().then(() => process.exit(130)));

try {
  const keys = await createBenchTenant(stack.gateway, stack.adminToken);
  if (breakdown) await runBreakdown(keys);
  else if (profile) await runProfile(keys);
  else if (batchOnly) await runBatch(keys);
  else {
    await runTimings(keys);
    if (!args.has("--no-limiter")) await runLimiter();
    if (!args.has("--no-batch")) await runBatch(keys);
  }
} catch (err) {
  log(`bench failed: ${err instanceof Error ? err.message : String(err)}`);
  log(`workerd logs: ${stack.log}, upstream ${stack.upstreamLog}${args.has("--keep-state") ? "" : " (pass --keep-state to keep them)"}`);
  process.exitCode = 1;
} finally {
  await cleanup();
}

/**
 * The report the issue asks for: latency added at concurrency 1 and throughput at 32, per target.
 * @param {{ unlimitedKey: string, limitedKey: string }} keys
 */
async function runTimings(keys) {
  /** @type {string | undefined} */
  let portkeySkipped = "not requested (--no-portkey)";
  if (withPortkey) {
    log(`Installing/starting Portkey ${PORTKEY_VERSION} (cache: ${portkeyDir()})…`);
    const installed = ensurePortkey();
    if (installed.ok) portkey = await startPortkey(installed.entry, await freePort(), join(portkeyDir(), "bench-portkey.log"));
    else portkeySkipped = installed.reason;
  }

  if (args.has("--compare-miniflare") && !breakdown) {
    log("Starting the floor under Miniflare's own config for comparison…");
    miniflareFloor = await startMiniflareFloor({ root, compatibilityDate: /** @type {string} */ (COMPATIBILITY_DATE), upstream: stack.upstream });
  }

  /** @type {Record<string, Record<string, any>>} */
  const measured = {};
  /** @type {Record<string, Record<string, Target>>} */
  const targetsByMode = {};
  for (const [modeName, stream] of Object.entries(MODES)) {
    /** @type {Record<string, Target>} */
    const targets = chatTargets(stack, keys, stream);
    if (miniflareFloor) targets["floor-miniflare"] = withBase(/** @type {Target} */ (targets["floor"]), miniflareFloor.url);
    const direct = /** @type {Target} */ (targets["direct"]);
    const skipped = (measured[modeName] = /** @type {Record<string, any>} */ ({}));
    for (const [name, target] of Object.entries(targets)) {
      if (name === "direct") continue;
      const wrong = await sameAnswer(target, direct, stream);
      if (wrong) throw new Error(`${modeName} via ${name}: ${wrong}`);
    }
    const limiterMissing = await limiterMissingFromPath(/** @type {Target} */ (targets["chain-limited"]));
    if (limiterMissing) {
      delete targets["chain-limited"];
      skipped["chain-limited"] = { skipped: limiterMissing };
    }
    if (portkey) {
      const target = portkeyTarget(portkey.url, stack.upstream, stream);
      const wrong = await sameAnswer(target, direct, stream);
      if (wrong) skipped["portkey"] = { skipped: `Portkey ${wrong}` };
      else targets["portkey"] = target;
    } else skipped["portkey"] = { skipped: portkeySkipped };
    targetsByMode[modeName] = targets;
  }

  const loopbackBefore = await json(`${stack.sink}/__bench/loopback-calls`);
  for (const [modeName, targets] of Object.entries(targetsByMode)) {
    const names = Object.keys(targets);
    const target = (/** @type {string} */ name) => /** @type {Target} */ (targets[name]);
    log(`${modeName}: warming up ${names.join(", ")}…`);
    for (const name of names) {
      await runLoad(target(name), { connections: 1, seconds: PLAN.warmupSeconds });
      await runLoad(target(name), { connections: PLAN.concurrency, seconds: PLAN.warmupSeconds });
    }
    log(`${modeName}: latency at concurrency 1, ${PLAN.rounds} interleaved rounds of ${PLAN.roundSeconds} s per target…`);
    /** @type {Map<string, number[]>} */
    const samples = new Map(names.map((n) => [n, []]));
    for (let r = 0; r < PLAN.rounds; r++) {
      const order = names.slice(r % names.length).concat(names.slice(0, r % names.length));
      for (const name of order) samples.get(name)?.push(...(await runLoad(target(name), { connections: 1, seconds: PLAN.roundSeconds })).samples);
    }
    log(`${modeName}: throughput at concurrency ${PLAN.concurrency}, ${PLAN.throughputSeconds} s per target…`);
    for (const name of names) {
      const res = await runLoad(target(name), { connections: PLAN.concurrency, seconds: PLAN.throughputSeconds });
      const m = measurement(samples.get(name) ?? [], res, { latencySeconds: PLAN.rounds * PLAN.roundSeconds });
      if ("skipped" in m) log(`${modeName} via ${name}: skipped, ${m.skipped}`);
      measured[modeName] = { ...measured[modeName], [name]: m };
    }
  }
  const loopbackAfter = await json(`${stack.sink}/__bench/loopback-calls`);

  const derived = Object.fromEntries(Object.entries(measured).map(([mode, m]) => [mode, deriveMode(m)]));
  const machine = machineInfo();
  const runtime = {
    description:
      "two `workerd serve` processes from Miniflare's generated config, with Miniflare's entry Worker, outbound proxy to Node, tail collector and structured logging removed: one runs the seven Workers, Miniflare's binding Workers, the floor and the loopback sink; the other only the zero-delay upstream, which every target (direct, floor, chain, Portkey) reaches over TCP, so no target's throughput pays for the upstream's JavaScript (bench/README.md)",
    storage: inMemory ? "tmpfs (/dev/shm)" : `disk (${dirname(stack.stateDir)})`,
    miniflare_loopback_calls_during_measurement: loopbackAfter.calls - loopbackBefore.calls,
    miniflare_loopback_calls_by_path: diffCounts(loopbackBefore.byPath, loopbackAfter.byPath),
  };
  const result = { date: new Date().toISOString(), machine, plan: PLAN, runtime, targets: TARGETS, modes: derived };
  writeFileSync(join(results, "latest.json"), JSON.stringify(result, null, 2) + "\n");
  process.stdout.write(
    `\n${renderTables(derived, { concurrency: PLAN.concurrency })}\n` +
      `Machine: ${machine.nproc} × ${machine.cpu}, ${machine.os}, load average at start ${machine.load_average_at_start}; workerd ${machine.workerd}; Node ${machine.node}; autocannon ${machine.autocannon}\n` +
      `Local storage (D1, KV, Durable Objects): ${runtime.storage}\n` +
      `Calls from Miniflare's Workers to its Node loopback during measurement (answered inside workerd): ${runtime.miniflare_loopback_calls_during_measurement}\n` +
      `JSON: bench/results/latest.json${args.has("--keep-state") ? `\nworkerd logs and configs: ${stack.stateDir} (the upstream's in upstream/)` : ""}\n`,
  );
}

/**
 * One limiter object's ceiling and the sharded path (workers/rate-limiter/bench): acquire + settle
 * per request at concurrency 32 on one object, and over 4 shard objects borrowing from one parent.
 */
async function runLimiter() {
  log("limiter: one object's ceiling and the sharded path (workers/rate-limiter/bench)…");
  const rows = await runLimiterBench({
    quick,
    routes: ["/worker", "/acquire-settle", "/acquire-settle-carried", "/acquire-settle-sharded"],
    ...(inMemory ? { storageDir: "/dev/shm" } : {}),
    log,
  });
  process.stdout.write(`\n${renderLimiterCeiling(rows)}\n`);
}

/**
 * A 10,000-line batch against the zero-delay upstream (bench/lib/batch.mjs): lines per second and
 * time from `POST /v1/batches` to `completed`. Added to bench/results/latest.json as `batch`.
 * @param {{ batchKey: string }} keys
 */
async function runBatch(keys) {
  log("batch: 10,000 chat lines, uploaded, run and assembled…");
  const batch = await runBatchBench(stack.gateway, keys.batchKey, { log });
  const file = join(results, "latest.json");
  let previous = {};
  try {
    previous = batchOnly ? {} : JSON.parse(readFileSync(file, "utf8"));
  } catch {
    // no timings this run
  }
  writeFileSync(file, JSON.stringify({ ...previous, ...(batchOnly ? { date: new Date().toISOString(), machine: machineInfo() } : {}), batch }, null, 2) + "\n");
  process.stdout.write(
    `\nBatch of ${batch.lines} lines (target ≥ 500 lines/s): ${batch.lines_per_second} lines/s, ${(batch.time_to_completed_ms / 1000).toFixed(1)} s from create to completed (upload ${batch.upload_ms} ms)\n`,
  );
}

/**
 * JavaScript time per request, per Worker, for the floor and the chain (both keys), from workerd's
 * async trace. Requests are sent one at a time; each target gets its own window of wall time, with
 * a grace period for the work that follows the responses (usage events through the Queue into D1).
 * @param {{ unlimitedKey: string, limitedKey: string }} keys
 */
async function runBreakdown(keys) {
  const requests = quick ? 100 : 300;
  /** @type {import("./lib/breakdown.mjs").Window[]} */
  const windows = [];
  /** @type {string[]} */
  const cpuPerRequest = [];
  for (const [modeName, stream] of Object.entries(MODES)) {
    const targets = chatTargets(stack, keys, stream);
    for (const name of args.has("--chain-only")
      ? /** @type {const} */ (["relay", "chain"])
      : /** @type {const} */ (["floor", "relay", "chain", "chain-limited"])) {
      log(`${modeName} via ${name}: ${requests} requests, traced…`);
      await runLoad(targets[name], { connections: 1, amount: 50 });
      await sleep(1500);
      const startMs = Date.now();
      const cpuBefore = processCpuNs(stack.pid);
      await runLoad(targets[name], { connections: 1, amount: requests });
      await sleep(1500); // the usage-events Queue delivers batches after at most 1 s
      const cpuUs = (processCpuNs(stack.pid) - cpuBefore) / 1000 / requests;
      cpuPerRequest.push(`${modeName} via ${name}: ${cpuUs.toFixed(0)} µs`);
      windows.push({ name: `${modeName} via ${name}`, startMs, endMs: Date.now(), requests });
    }
  }
  await cleanup(); // workerd flushes the trace on exit
  const analysis = analyzeTrace(readFileSync(tracePath, "utf8").split("\n"), windows);
  rmSync(tracePath, { force: true });
  writeFileSync(join(results, "breakdown.json"), JSON.stringify({ date: new Date().toISOString(), machine: machineInfo(), windows: analysis }, null, 2) + "\n");
  process.stdout.write(
    `\nJavaScript time per request by Worker (turns holding the isolate lock; excludes HTTP parsing and RPC serialisation;\n` +
      `includes a SQLite-backed Durable Object's synchronous SQL).\n` +
      `Names without a prefix are ours; d1:*, kv:*, queues:* are Miniflare's local implementations of those bindings.\n\n` +
      `${renderBreakdown(analysis)}` +
      `CPU time of our workerd process per request (all its threads, from /proc: HTTP, RPC and storage included; in a VM\n` +
      `it still counts time stolen by the host, so compare it only within one run): ${cpuPerRequest.join("; ")}\n` +
      `JSON: bench/results/breakdown.json\n`,
  );
}

/**
 * CPU profiles of our three Workers on the request path while the chain (unlimited key) serves
 * requests one at a time, chat then stream: self time per function, per request.
 * @param {{ unlimitedKey: string, limitedKey: string }} keys
 */
async function runProfile(keys) {
  const requests = quick ? 300 : 1000;
  const workers = profileLimited ? ["gateway", "rate-limiter"] : ["gateway", "tail", "model-proxy"];
  const targetName = profileLimited ? "chain-limited" : "chain";
  /** @type {Record<string, any>} */
  const report = {};
  let text = "";
  for (const [modeName, stream] of Object.entries(MODES)) {
    const target = chatTargets(stack, keys, stream)[targetName];
    log(`${modeName} via ${targetName}: warming up, then ${requests} requests, profiled…`);
    await runLoad(/** @type {Target} */ (target), { connections: 1, amount: 200 });
    const profiles = await startProfiles(/** @type {number} */ (inspectorPort), workers);
    await runLoad(/** @type {Target} */ (target), { connections: 1, amount: requests });
    await sleep(1500); // the usage pack's window and its Queue send
    const got = await profiles.stop();
    report[modeName] = {};
    for (const [worker, p] of Object.entries(got)) {
      const s = summarizeProfile(p, requests);
      report[modeName][worker] = s;
      text += `\n${modeName} via ${targetName}, ${worker}: ${s.totalUsPerRequest.toFixed(1)} µs sampled per request; heaviest self time:\n`;
      for (const r of s.rows) text += `  ${r.usPerRequest.toFixed(1).padStart(7)} µs  ${r.fn}\n`;
    }
  }
  writeFileSync(join(results, "profile.json"), JSON.stringify({ date: new Date().toISOString(), machine: machineInfo(), profiles: report }, null, 2) + "\n");
  process.stdout.write(`${text}\nJSON: bench/results/profile.json\n`);
}

/**
 * Sends `target` once and compares the answer with the upstream's own: same status, same content
 * (non-stream: `choices[0].message.content`; stream: the concatenated deltas, ending in `[DONE]`).
 * Returns what is wrong, or undefined.
 * @param {Target} target @param {Target} direct @param {boolean} stream
 */
async function sameAnswer(target, direct, stream) {
  const [got, want] = await Promise.all([send(target), send(direct)]);
  if (got.status !== 200) return `answered ${got.status}: ${got.text.slice(0, 300)}`;
  const content = stream ? streamedContent : (/** @type {string} */ t) => JSON.parse(t).choices?.[0]?.message?.content;
  try {
    const [a, b] = [content(got.text), content(want.text)];
    return a === b ? undefined : `answered ${JSON.stringify(a)}, the upstream said ${JSON.stringify(b)}`;
  } catch (err) {
    return `answered something unreadable (${err instanceof Error ? err.message : err}): ${got.text.slice(0, 300)}`;
  }
}

/** @param {string} text an SSE body */
function streamedContent(text) {
  const data = text
    .split("\n")
    .filter((l) => l.startsWith("data: "))
    .map((l) => l.slice(6));
  if (data.at(-1) !== "[DONE]") throw new Error("stream did not end with [DONE]");
  return data
    .slice(0, -1)
    .map((d) => JSON.parse(d).choices?.[0]?.delta?.content ?? "")
    .join("");
}

/** @param {Target} t */
async function send(t) {
  const res = await fetch(t.url, { method: t.method, headers: t.headers, body: t.body });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/**
 * The limited key must really go through the limiter (OpenAI's x-ratelimit-* headers prove it), or
 * "limited − unlimited" would measure nothing. Returns why it is not, or undefined.
 * @param {Target} limited
 */
async function limiterMissingFromPath(limited) {
  const res = await send(limited);
  if (res.headers.get("x-ratelimit-limit-requests")) return undefined;
  return "the rate-limited key's response has no x-ratelimit-limit-requests header: the limiter is not on the request path";
}

/** @param {string} url */
async function json(url) {
  return /** @type {any} */ (await (await fetch(url)).json());
}

/** @param {number} ms */
function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/** @param {Record<string, number>} before @param {Record<string, number>} after */
function diffCounts(before, after) {
  return Object.fromEntries(
    Object.entries(after)
      .map(([k, v]) => [k, v - (before[k] ?? 0)])
      .filter(([, v]) => Number(v) > 0),
  );
}

function machineInfo() {
  const version = (/** @type {string} */ pkg) => JSON.parse(readFileSync(join(root, "node_modules", pkg, "package.json"), "utf8")).version;
  let commit = "unknown";
  try {
    commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, encoding: "utf8" }).trim();
    if (execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], { cwd: root, encoding: "utf8" }).trim()) commit += "+dirty";
  } catch {
    // not a git checkout
  }
  return {
    nproc: availableParallelism(),
    cpu: cpus()[0]?.model ?? "unknown",
    memory_gb: Math.round(totalmem() / 2 ** 30),
    os: `${platform()} ${release()}`,
    load_average_at_start: Number(loadAtStart.toFixed(2)),
    workerd: spawnSync(WORKERD, ["--version"], { encoding: "utf8" }).stdout.trim(),
    node: process.version,
    autocannon: version("autocannon"),
    wrangler: version("wrangler"),
    miniflare: version("miniflare"),
    portkey: withPortkey ? PORTKEY_VERSION : null,
    commit,
  };
}

/** @param {string} message @returns {never} */
function fail(message) {
  process.stderr.write(`npm run bench: ${message}\n`);
  process.exit(2);
}

/**
 * CPU time (ns) a process has used so far, all threads (`/proc/<pid>/task/<tid>/schedstat`: ns on
 * CPU). Unlike wall time holding a lock, time the guest OS gave to other processes is not in it
 * (time a VM's host took from the guest still is).
 * @param {number | undefined} pid
 */
function processCpuNs(pid) {
  if (pid === undefined) return 0;
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
    } catch {
      // the thread ended
    }
  }
  return ns;
}
