import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { TestProject } from "vitest/node";
import { WORKERS } from "../../scripts/workers.mjs";

/**
 * Global setup of the projects that start the stack (system, browser): the seven Workers are
 * bundled once per run (`wrangler deploy --dry-run --outdir`, what they deploy as), and every
 * `startStack` — and every `harness.update` after it — starts workerd on those bundles
 * (`prebuiltWorkerDir`) instead of bundling all seven again. The folder is `inject`ed as
 * `prebuiltWorkers` (test/support/stack.ts) and removed when the run ends.
 */

declare module "vitest" {
  export interface ProvidedContext {
    /** Worker name → the folder with its bundle. */
    prebuiltWorkers: Record<string, string>;
  }
}

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const run = promisify(execFile);

/** One build per run even when several projects list this setup (each loads its own copy of this module). */
const BUILT = Symbol.for("edge-llm-gateway.prebuiltWorkers");
const shared = globalThis as { [BUILT]?: Promise<{ dir: string; workers: Record<string, string> }> };

async function buildAll(): Promise<{ dir: string; workers: Record<string, string> }> {
  const dir = mkdtempSync(join(tmpdir(), "edge-llm-gateway-workers-"));
  const workers: Record<string, string> = {};
  try {
    await Promise.all(
      WORKERS.map(async (w) => {
        const out = join(dir, w.name);
        // `--env=""`: the top-level environment (the one `startStack` runs), without wrangler's
        // warning that the config also defines others.
        await run(join(ROOT, "node_modules/.bin/wrangler"), ["deploy", "--dry-run", "--config", w.config, "--env=", "--outdir", out], {
          cwd: ROOT,
          env: { ...process.env, WRANGLER_SEND_METRICS: "false", PATH: `${join(ROOT, "node_modules/.bin")}:${process.env["PATH"] ?? ""}` },
          maxBuffer: 16 * 1024 * 1024,
        }).catch((err: unknown) => {
          const { stdout = "", stderr = "" } = err as { stdout?: string; stderr?: string };
          throw new Error(`bundling ${w.name} (${w.config}) failed:\n${stdout}\n${stderr}`, { cause: err });
        });
        workers[w.name] = out;
      }),
    );
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return { dir, workers };
}

export default async function setup(project: TestProject): Promise<() => void> {
  shared[BUILT] ??= buildAll();
  const { dir, workers } = await shared[BUILT];
  project.provide("prebuiltWorkers", workers);
  return () => rmSync(dir, { recursive: true, force: true });
}
