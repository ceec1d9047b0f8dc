// `npm run bench`: what the gateway adds to a chat request, measured against a bare forwarding
// Worker under exactly the same runtime, and against a Node-based gateway on the same machine.
// See bench/README.md for the method and what was found about the local runtime.
//
//   npm run bench                   full run (a few minutes on 2 cores)
//   npm run bench -- --quick        shorter runs, for trying things out
//   npm run bench -- --no-portkey   skip the Node gateway comparison
//   npm run bench -- --keep-state   keep workerd's config, log and storage (path printed)
//   npm run bench -- --storage-in-memory
//                                   local storage (D1, KV, Durable Objects) on tmpfs (/dev/shm):
//                                   shows how much of a storage write is this machine's fsync
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, platform, release, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { runLoad } from "./lib/load.mjs";
import { ensurePortkey, portkeyDir, portkeyHeaders, PORTKEY_VERSION, startPortkey } from "./lib/portkey.mjs";
import { deriveMode, renderTables } from "./lib/report.mjs";
import { BENCH_MODEL, BENCH_PROVIDER, createBenchTenant, platformProviderVars } from "./lib/setup.mjs";
import { freePort, startBenchStack } from "./lib/stack.mjs";
import { summarize } from "./lib/stats.mjs";
import { WORKERD } from "./lib/workerd.mjs";

const root = resolve(dirname(new URL(import.meta.url).pathname), "..");
const args = new Set(process.argv.slice(2));
const known = ["--quick", "--no-portkey", "--with-portkey", "--keep-state", "--storage-in-memory"];
for (const a of args) if (!known.includes(a)) fail(`unknown option ${a} (known: ${known.join(" ")})`);
const quick = args.has("--quick");
const withPortkey = !args.has("--no-portkey");

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
log("Starting the stack (wrangler builds it, workerd serves it without Miniflare's Node proxy)…");
const stack = await startBenchStack({
  root,
  compatibilityDate: COMPATIBILITY_DATE,
  vars: ({ upstream }) => ({ "model-proxy": platformProviderVars(upstream) }),
  keepState: args.has("--keep-state"),
  ...(args.has("--storage-in-memory") ? { stateRoot: "/dev/shm" } : {}),
});
/** @type {Awaited<ReturnType<typeof startPortkey>> | undefined} */
let portkey;
const cleanup = async () => {
  await portkey?.stop();
  await stack.close();
};
for (const signal of /** @type {const} */ (["SIGINT", "SIGTERM"])) process.once(signal, () => void cleanup().then(() => process.exit(130)));

try {
  const { unlimitedKey, limitedKey } = await createBenchTenant(stack.gateway, stack.adminToken);
  /** @type {string | undefined} */
  let portkeySkipped;
  if (withPortkey) {
    log(`Installing/starting Portkey ${PORTKEY_VERSION} (cache: ${portkeyDir()})…`);
    const installed = ensurePortkey();
    if (installed.ok) portkey = await startPortkey(installed.entry, await freePort(), join(portkeyDir(), "bench-portkey.log"));
    else portkeySkipped = installed.reason;
  } else portkeySkipped = "not requested (--no-portkey)";

  const modes = /** @type {const} */ ({ chat: false, "chat-stream": true });
  /** @type {Record<string, Record<string, any>>} */
  const measured = {};
  /** @type {Record<string, Record<string, import("./lib/load.mjs").Target>>} */
  const targetsByMode = {};
  for (const [modeName, stream] of Object.entries(modes)) {
    const chatBody = (/** @type {string} */ model) =>
      JSON.stringify({ model, messages: [{ role: "user", content: "Say hello." }], max_tokens: 64, ...(stream ? { stream: true } : {}) });
    const json = { "content-type": "application/json" };
    const path = "/v1/chat/completions";
    /** @type {Record<string, import("./lib/load.mjs").Target>} */
    const targets = {
      direct: { url: stack.upstream + path, method: "POST", headers: json, body: chatBody(BENCH_MODEL) },
      floor: { url: stack.floor + path, method: "POST", headers: json, body: chatBody(BENCH_MODEL) },
      chain: { url: stack.gateway + path, method: "POST", headers: { ...json, authorization: `Bearer ${unlimitedKey}` }, body: chatBody(`${BENCH_PROVIDER}/${BENCH_MODEL}`) },
      "chain-limited": { url: stack.gateway + path, method: "POST", headers: { ...json, authorization: `Bearer ${limitedKey}` }, body: chatBody(`${BENCH_PROVIDER}/${BENCH_MODEL}`) },
    };
    measured[modeName] = {};
    if (portkey) {
      const target = { url: portkey.url + path, method: /** @type {const} */ ("POST"), headers: { ...json, ...portkeyHeaders(stack.upstream) }, body: chatBody(BENCH_MODEL) };
      const broken = await sameAnswer(target, targets.direct, stream);
      if (broken) measured[modeName]["portkey"] = { skipped: `Portkey ${broken}` };
      else targets["portkey"] = target;
    } else measured[modeName]["portkey"] = { skipped: portkeySkipped };
    for (const [name, target] of Object.entries(targets)) {
      if (name === "direct") continue;
      const broken = await sameAnswer(target, targets.direct, stream);
      if (broken) throw new Error(`${modeName} via ${name}: ${broken}`);
    }
    const limiterMissing = targets["chain-limited"] && (await limiterMissingFromPath(targets["chain-limited"]));
    if (limiterMissing) {
      delete targets["chain-limited"];
      measured[modeName]["chain-limited"] = { skipped: limiterMissing };
    }
    targetsByMode[modeName] = targets;
  }

  const loopbackBefore = await json(`${stack.sink}/__bench/loopback-calls`);
  for (const [modeName, targets] of Object.entries(targetsByMode)) {
    const names = Object.keys(targets);
    log(`${modeName}: warming up ${names.join(", ")}…`);
    for (const t of Object.values(targets)) {
      await runLoad(t, { connections: 1, seconds: PLAN.warmupSeconds });
      await runLoad(t, { connections: PLAN.concurrency, seconds: PLAN.warmupSeconds });
    }
    log(`${modeName}: latency at concurrency 1, ${PLAN.rounds} interleaved rounds of ${PLAN.roundSeconds} s per target…`);
    /** @type {Record<string, number[]>} */
    const samples = Object.fromEntries(names.map((n) => [n, []]));
    for (let r = 0; r < PLAN.rounds; r++) {
      const order = names.slice(r % names.length).concat(names.slice(0, r % names.length));
      for (const name of order) {
        const res = await runLoad(/** @type {import("./lib/load.mjs").Target} */ (targets[name]), { connections: 1, seconds: PLAN.roundSeconds });
        samples[name]?.push(...res.samples);
      }
    }
    log(`${modeName}: throughput at concurrency ${PLAN.concurrency}, ${PLAN.throughputSeconds} s per target…`);
    for (const name of names) {
      const res = await runLoad(/** @type {import("./lib/load.mjs").Target} */ (targets[name]), { connections: PLAN.concurrency, seconds: PLAN.throughputSeconds });
      const lat = summarize(/** @type {number[]} */ (samples[name]));
      measured[modeName] ??= {};
      measured[modeName][name] = { p50: lat.p50, p99: lat.p99, n: lat.n, rps: res.rps, p50_at_concurrency: res.latency.p50, p99_at_concurrency: res.latency.p99 };
    }
  }
  const loopbackAfter = await json(`${stack.sink}/__bench/loopback-calls`);

  const derived = Object.fromEntries(Object.entries(measured).map(([mode, m]) => [mode, deriveMode(m)]));
  const machine = machineInfo();
  const result = {
    date: new Date().toISOString(),
    machine,
    plan: PLAN,
    runtime: {
      description: "one `workerd serve` process: the seven Workers, the floor and the upstream from Miniflare's generated config, with Miniflare's entry Worker, outbound proxy to Node, tail collector and structured logging removed (bench/README.md)",
      storage: args.has("--storage-in-memory") ? "tmpfs (/dev/shm)" : `disk (${dirname(stack.stateDir)})`,
      miniflare_loopback_calls_during_measurement: loopbackAfter.calls - loopbackBefore.calls,
      miniflare_loopback_calls_by_path: diffCounts(loopbackBefore.byPath, loopbackAfter.byPath),
    },
    targets: (await import("./lib/report.mjs")).TARGETS,
    modes: derived,
  };
  const outDir = join(root, "bench/results");
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, "latest.json"), JSON.stringify(result, null, 2) + "\n");
  process.stdout.write(
    `\n${renderTables(derived, { concurrency: PLAN.concurrency })}\n` +
      `Machine: ${machine.nproc} × ${machine.cpu}, ${machine.os}; workerd ${machine.workerd}; Node ${machine.node}; autocannon ${machine.autocannon}\n` +
      `Local storage (D1, KV, Durable Objects): ${result.runtime.storage}\n` +
      `Calls from Miniflare's Workers to its Node loopback during measurement (answered inside workerd): ${result.runtime.miniflare_loopback_calls_during_measurement}\n` +
      `JSON: bench/results/latest.json${args.has("--keep-state") ? `\nworkerd log and config: ${dirname(stack.log)}` : ""}\n`,
  );
} catch (err) {
  log(`bench failed: ${err instanceof Error ? err.message : String(err)}`);
  log(`workerd log: ${stack.log}${args.has("--keep-state") ? "" : " (pass --keep-state to keep it)"}`);
  process.exitCode = 1;
} finally {
  await cleanup();
}

/**
 * Sends `target` once and compares the answer with the upstream's own: same status, same content
 * (non-stream: `choices[0].message.content`; stream: the concatenated deltas, ending in `[DONE]`).
 * Returns what is wrong, or undefined.
 * @param {import("./lib/load.mjs").Target} target
 * @param {import("./lib/load.mjs").Target} direct
 * @param {boolean} stream
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
  const data = text.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6));
  if (data.at(-1) !== "[DONE]") throw new Error("stream did not end with [DONE]");
  return data.slice(0, -1).map((d) => JSON.parse(d).choices?.[0]?.delta?.content ?? "").join("");
}

/** @param {import("./lib/load.mjs").Target} t */
async function send(t) {
  const res = await fetch(t.url, { method: t.method, headers: t.headers, body: t.body });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/**
 * The limited key must really go through the limiter (OpenAI's x-ratelimit-* headers prove it), or
 * "limited − unlimited" would measure nothing. Returns why it is not, or undefined.
 * @param {import("./lib/load.mjs").Target} limited
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

/** @param {Record<string, number>} before @param {Record<string, number>} after */
function diffCounts(before, after) {
  return Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]).filter(([, v]) => Number(v) > 0));
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
    load_average_at_start: Number(loadAtStart.toFixed(2)),
    cpu: cpus()[0]?.model ?? "unknown",
    memory_gb: Math.round(totalmem() / 2 ** 30),
    os: `${platform()} ${release()}`,
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
