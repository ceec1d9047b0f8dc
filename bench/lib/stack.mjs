// The bench's runtime, from the config Miniflare generated, rewritten to keep Node off the request
// path (see workerd-config.mjs and bench/README.md), served by two `workerd serve` processes:
// - ours: the seven Workers (with Miniflare's D1/KV/Queue/Durable Object Workers), the floor and
//   the loopback sink;
// - the zero-delay upstream, alone. workerd runs a process's Workers on one thread; in its own
//   process the upstream's JavaScript is not charged to the floor and the chain, just as it is not
//   charged to Portkey (its own Node process). Everything reaches it over TCP by URL.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { createTestHarness } from "wrangler";
import { captureStack, quietly } from "./capture.mjs";
import { splitOffWorker, toDirectConfig } from "./workerd-config.mjs";
import { serveWorkerd } from "./workerd.mjs";

/**
 * @typedef {object} BenchStack
 * @property {string} gateway base URL of the gateway Worker
 * @property {string} floor base URL of the bare forwarding Worker
 * @property {string} relay base URL of the first of three bare Workers chained like ours (workers/relay.mjs)
 * @property {string} upstream base URL of the zero-delay upstream Worker
 * @property {string} sink base URL of the loopback sink (Miniflare's Workers' calls to Node land here)
 * @property {string} adminToken
 * @property {string} log our workerd's output
 * @property {string} upstreamLog the upstream's workerd's output
 * @property {string} stateDir where our workerd's config, log and local storage are (the upstream's
 *   config and log: its `upstream/` subdirectory)
 * @property {() => Promise<void>} close
 */

/**
 * @param {object} options
 * @param {string} options.root repo root
 * @param {string} options.compatibilityDate for the bench's own Workers (the gateway's)
 * @param {(urls: { upstream: string }) => Record<string, Record<string, string>>} options.vars extra
 *   vars per stack Worker, given the zero-delay upstream's URL (its port is picked at start)
 * @param {boolean} [options.keepState] leave the state dir (config, log, storage) for inspection
 * @param {string} [options.stateRoot] where the state dir (and so every local store: D1, KV, R2,
 *   Durable Objects) is created; default the OS temp dir
 * @param {string} [options.asyncTrace] have our workerd write its async trace to this file (see
 *   breakdown.mjs); the upstream's process is not traced
 * @param {number} [options.inspectorPort] open our workerd's V8 inspector on this port (profile.mjs)
 * @returns {Promise<BenchStack>}
 */
export async function startBenchStack({ root, compatibilityDate, vars, keepState = false, stateRoot = tmpdir(), asyncTrace, inspectorPort }) {
  const stateDir = mkdtempSync(join(stateRoot, "edge-llm-gateway-bench-"));
  const removeState = () => {
    if (!keepState) rmSync(stateDir, { recursive: true, force: true });
  };
  process.once("exit", removeState);
  try {
    const ports = {
      gateway: await freePort(),
      "bench-floor": await freePort(),
      "bench-relay": await freePort(),
      "bench-upstream": await freePort(),
      "bench-sink": await freePort(),
    };
    const url = (/** @type {keyof typeof ports} */ w) => `http://127.0.0.1:${ports[w]}`;
    const captured = await captureStack({
      root,
      stateDir,
      compatibilityDate,
      vars: vars({ upstream: url("bench-upstream") }),
      benchWorkers: [
        { name: "bench-floor", main: "bench/workers/floor.mjs", vars: { UPSTREAM_URL: url("bench-upstream") } },
        { name: "bench-relay", main: "bench/workers/relay.mjs", services: [{ binding: "NEXT", service: "bench-relay-2", entrypoint: "Relay" }] },
        { name: "bench-relay-2", main: "bench/workers/relay.mjs", services: [{ binding: "NEXT", service: "bench-relay-3", entrypoint: "Relay" }] },
        { name: "bench-relay-3", main: "bench/workers/relay.mjs", vars: { UPSTREAM_URL: url("bench-upstream") } },
        { name: "bench-upstream", main: "bench/workers/upstream.mjs" },
        { name: "bench-sink", main: "bench/workers/sink.mjs" },
      ],
    });
    const direct = toDirectConfig(captured.config, {
      listen: ports,
      sinkWorker: "bench-sink",
      // D1 keeps the migrated files; every other store starts empty in the state dir.
      mapDisk: (path) => (basename(path) === "d1" ? captured.d1Dir : join(stateDir, basename(path))),
    });
    const { rest: config, alone: upstreamConfig } = splitOffWorker(direct, "bench-upstream");
    for (const s of config.services) if (s.disk?.path) mkdirSync(s.disk.path, { recursive: true });
    const upstreamDir = join(stateDir, "upstream");
    mkdirSync(upstreamDir);
    const upstream = await serveWorkerd(upstreamConfig, { dir: upstreamDir, readyUrls: [`${url("bench-upstream")}/`] });
    const ours = await serveWorkerd(config, {
      dir: stateDir,
      asyncTrace,
      inspectorPort,
      readyUrls: [`${url("bench-sink")}/__bench/loopback-calls`, `${url("bench-floor")}/`, `${url("bench-relay")}/`, `${url("gateway")}/v1/models`],
    }).catch(async (/** @type {unknown} */ err) => {
      await upstream.stop();
      throw err;
    });
    return {
      gateway: url("gateway"),
      floor: url("bench-floor"),
      relay: url("bench-relay"),
      upstream: url("bench-upstream"),
      sink: url("bench-sink"),
      adminToken: captured.adminToken,
      log: ours.log,
      /** our workerd's process id (the CPU time the breakdown reads from /proc) */
      pid: ours.pid,
      upstreamLog: upstream.log,
      stateDir,
      close: async () => {
        await Promise.all([ours.stop(), upstream.stop()]);
        removeState();
        process.off("exit", removeState);
      },
    };
  } catch (err) {
    removeState();
    process.off("exit", removeState);
    throw err;
  }
}

/** @returns {Promise<number>} a port free on 127.0.0.1 right now */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * The same floor Worker under Miniflare's own runtime config (what `wrangler dev` and
 * `createTestHarness` run), forwarding to the same upstream: the comparison that shows what the
 * bench's config removes from the request path.
 * @param {{ root: string, compatibilityDate: string, upstream: string }} options
 * @returns {Promise<{ url: string, close(): Promise<void> }>}
 */
export async function startMiniflareFloor({ root, compatibilityDate, upstream }) {
  const harness = createTestHarness({
    root,
    workers: [
      { config: { name: "bench-floor", main: join(root, "bench/workers/floor.mjs"), compatibility_date: compatibilityDate, vars: { UPSTREAM_URL: upstream } } },
    ],
  });
  const { url } = await quietly(() => harness.listen());
  return { url: url.toString().replace(/\/$/, ""), close: () => harness.close() };
}
