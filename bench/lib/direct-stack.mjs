// The seven Workers under a plain `workerd serve` config (no Node on the request path), for the
// system tests that need what Miniflare's config hides: its outbound fetches go through Node's
// loopback server, which keeps an upstream connection open after the Worker aborted its fetch.
// Built exactly as the bench builds its runtime (capture.mjs, workerd-config.mjs), in one process.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { captureStack } from "./capture.mjs";
import { freePort } from "./stack.mjs";
import { toDirectConfig } from "./workerd-config.mjs";
import { serveWorkerd } from "./workerd.mjs";

const SINK = "direct-sink";

/**
 * @param {object} options
 * @param {string} options.root repo root
 * @param {string} options.compatibilityDate for the sink Worker (the gateway's)
 * @param {Record<string, Record<string, string>>} options.vars extra vars per Worker name
 * @returns {Promise<import("./direct-stack.d.mts").DirectStack>}
 */
export async function startDirectStack({ root, compatibilityDate, vars }) {
  const stateDir = mkdtempSync(join(tmpdir(), "edge-llm-gateway-direct-"));
  const removeState = () => rmSync(stateDir, { recursive: true, force: true });
  process.once("exit", removeState);
  try {
    const ports = { gateway: await freePort(), [SINK]: await freePort() };
    const captured = await captureStack({
      root,
      stateDir,
      compatibilityDate,
      vars,
      benchWorkers: [{ name: SINK, main: "bench/workers/sink.mjs" }],
    });
    const config = toDirectConfig(captured.config, {
      listen: ports,
      sinkWorker: SINK,
      mapDisk: (path) => (basename(path) === "d1" ? captured.d1Dir : join(stateDir, basename(path))),
    });
    for (const s of config.services) if (s.disk?.path) mkdirSync(s.disk.path, { recursive: true });
    const gateway = `http://127.0.0.1:${ports.gateway}`;
    const served = await serveWorkerd(config, { dir: stateDir, readyUrls: [`http://127.0.0.1:${ports[SINK]}/__bench/loopback-calls`, `${gateway}/v1/models`] });
    return {
      url: gateway,
      adminToken: captured.adminToken,
      log: served.log,
      close: async () => {
        await served.stop();
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
