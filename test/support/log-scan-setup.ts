import { existsSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { LOG_DIR, scanRun } from "./log-scan";

/**
 * Global setup of the system and browser projects: the log scan of the whole run. Every stack saves
 * its Workers' logs when it closes (./stack.ts) and tests register what must never be logged
 * (passwords, the admin token, provider keys, every prompt the fake upstream received); after the
 * last file, every line is checked and the run fails naming the offending lines.
 *
 * `since` is when this vitest process started, so logs of earlier runs are ignored (and removed)
 * and both projects' teardowns see every stack of this run, whichever order they run in.
 */
const since = Date.now() - process.uptime() * 1000;

export function setup(): void {
  if (!existsSync(LOG_DIR)) return;
  for (const name of readdirSync(LOG_DIR)) {
    const path = join(LOG_DIR, name);
    if (statSync(path).mtimeMs < since) rmSync(path, { force: true });
  }
}

export function teardown(): void {
  const { files, literals, findings } = scanRun(since);
  if (findings.length === 0) return;
  const lines = findings.slice(0, 20).map((f) => `  ${f.file}:${f.line} ${f.what}: ${f.text}`);
  throw new Error(
    `The log scan found ${findings.length} line(s) with a secret or prompt text in ${files} Worker log file(s) (${literals} registered literals):\n${lines.join("\n")}`,
  );
}
