// Runs `workerd serve` on a config object: the same binary Miniflare uses, started directly, its
// output going to a log file (never through Node).
import { spawn } from "node:child_process";
import { supervise } from "./child.mjs";
import { closeSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { miniflare, WORKERD } from "./miniflare.mjs";

export { WORKERD };

/**
 * @param {any} config a workerd config object (capnp fields as Miniflare writes them)
 * @param {object} options
 * @param {string} options.dir where the binary config and workerd.log go
 * @param {string[]} options.readyUrls polled until each answers
 * @param {string} [options.asyncTrace] write workerd's async trace (turns, binding operations) here
 * @param {number} [options.inspectorPort] open the V8 inspector (CPU profiles: `--profile`) on this port
 * @returns {Promise<{ stop(): Promise<void>, log: string }>}
 */
export async function serveWorkerd(config, { dir, readyUrls, asyncTrace, inspectorPort }) {
  const configPath = join(dir, "workerd-config.bin");
  writeFileSync(configPath, miniflare.serializeConfig(config));
  const log = join(dir, "workerd.log");
  const out = openSync(log, "w");
  // --experimental: Miniflare's own Workers use flags without a default-on date, as under Miniflare.
  const trace = asyncTrace ? ["--async-trace", asyncTrace] : [];
  const inspector = inspectorPort ? [`--inspector-addr=127.0.0.1:${inspectorPort}`] : [];
  const child = spawn(WORKERD, ["serve", "--binary", "--experimental", ...trace, ...inspector, configPath], { stdio: ["ignore", out, out] });
  closeSync(out);
  const { stop, isDead } = supervise(child);
  try {
    await waitUntilReady(readyUrls, isDead, log);
  } catch (err) {
    await stop();
    throw err;
  }
  return { stop, log, pid: child.pid };
}

/** @param {string[]} urls @param {() => boolean} isDead @param {string} log */
async function waitUntilReady(urls, isDead, log) {
  const deadline = Date.now() + 30_000;
  for (const url of urls) {
    for (;;) {
      if (isDead()) throw new Error(`workerd exited during startup; see ${log}`);
      try {
        const res = await fetch(url);
        await res.arrayBuffer();
        break;
      } catch {
        if (Date.now() > deadline) throw new Error(`workerd did not answer ${url} within 30 s; see ${log}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }
}

/**
 * CPU time (user + system, ms, all threads) a process has used so far, from /proc (Linux); NaN
 * elsewhere. Unlike latency and req/s it barely moves when other work loads the machine.
 * @param {number | undefined} pid
 */
export function cpuMs(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8")
      .replace(/^.*\) /, "")
      .split(" ");
    // utime and stime are fields 14 and 15 of stat (11 and 12 after the command), in clock ticks (100 Hz).
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return NaN;
  }
}
