// The Node-based gateway the issue compares against: Portkey's open-source gateway, as published
// on npm, run with Node on this machine. Installed on demand into a cache directory outside the repo
// (never committed, never a dependency of the project).
import { spawn, spawnSync } from "node:child_process";
import { supervise } from "./child.mjs";
import { existsSync, mkdirSync, openSync, closeSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";

/** Pinned so runs compare like with like; PORTKEY_VERSION overrides. */
export const PORTKEY_VERSION = process.env.PORTKEY_VERSION ?? "1.15.2";

/** @returns {string} where this version is (or will be) installed */
export function portkeyDir() {
  const cache = process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache");
  return join(cache, "edge-llm-gateway-bench", `portkey-${PORTKEY_VERSION}`);
}

/**
 * Installs `@portkey-ai/gateway` into the cache directory unless it is there already.
 * @returns {{ ok: true, entry: string } | { ok: false, reason: string }}
 */
export function ensurePortkey() {
  const dir = portkeyDir();
  const entry = join(dir, "node_modules/@portkey-ai/gateway/build/start-server.js");
  if (existsSync(entry)) return { ok: true, entry };
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "package.json"), JSON.stringify({ private: true, description: "npm run bench: Node gateway for comparison" }));
  // --ignore-scripts: its postinstall only applies patches to its own dev tooling.
  const npm = spawnSync("npm", ["install", "--no-audit", "--no-fund", "--ignore-scripts", "--omit=dev", `@portkey-ai/gateway@${PORTKEY_VERSION}`], {
    cwd: dir,
    encoding: "utf8",
    timeout: 180_000,
  });
  if (npm.status !== 0 || !existsSync(entry)) {
    const why = (npm.error?.message ?? npm.stderr ?? "").trim().split("\n").slice(-3).join(" ");
    return { ok: false, reason: `npm install @portkey-ai/gateway@${PORTKEY_VERSION} failed: ${why || `exit ${npm.status}`}` };
  }
  return { ok: true, entry };
}

/**
 * Starts Portkey's Node server (headless: no log UI) on `port` and waits until it answers.
 * @param {string} entry @param {number} port @param {string} logFile
 * @returns {Promise<{ url: string, stop(): Promise<void> }>}
 */
export async function startPortkey(entry, port, logFile) {
  const out = openSync(logFile, "w");
  // The Node that runs this script (22 from node_modules), in production mode like a deployment.
  const child = spawn(process.execPath, [entry, `--port=${port}`, "--headless"], {
    cwd: dirname(entry),
    env: { ...process.env, NODE_ENV: "production" },
    stdio: ["ignore", out, out],
  });
  closeSync(out);
  const { stop, isDead } = supervise(child);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (isDead()) throw new Error(`Portkey exited during startup; see ${logFile}`);
    try {
      await (await fetch(url)).arrayBuffer();
      return { url, stop };
    } catch {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`Portkey did not answer within 30 s; see ${logFile}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/**
 * Portkey's way of sending an OpenAI-format request to an OpenAI-compatible base URL.
 * @param {string} upstreamBase e.g. http://127.0.0.1:1234
 */
export function portkeyHeaders(upstreamBase) {
  return {
    "x-portkey-provider": "openai",
    "x-portkey-custom-host": `${upstreamBase}/v1`,
    authorization: "Bearer sk-bench-upstream",
  };
}
