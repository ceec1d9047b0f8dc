// The lockfile check (first step of `npm test`, so CI fails on drift): `npm install` must leave the
// committed package-lock.json byte for byte as it is. Resolves the tree again from package.json and
// the lockfile in a scratch copy (`npm install --package-lock-only`: no node_modules, no install
// scripts, the npm cache first) and compares. The fix for a drift is `npm install` and a commit.
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";

const root = resolve(dirname(new URL(import.meta.url).pathname), "..");

/** npm itself: the one running this script when there is one (`npm test`), else `npm` on PATH. */
function npm(args, cwd) {
  const cli = process.env.npm_execpath;
  const [cmd, argv] = cli && cli.endsWith(".js") ? [process.execPath, [cli, ...args]] : ["npm", args];
  return execFileSync(cmd, argv, { cwd, stdio: ["ignore", "pipe", "pipe"], encoding: "utf8", env: { ...process.env, npm_config_update_notifier: "false" } });
}

/**
 * The lockfile `npm install` would write for the project in `dir` (package.json, package-lock.json,
 * .npmrc), computed in a scratch directory so nothing in `dir` changes.
 */
export function resolvedLockfile(dir = root) {
  const scratch = mkdtempSync(join(tmpdir(), "lockfile-"));
  try {
    for (const f of ["package.json", "package-lock.json", ".npmrc"]) if (existsSync(join(dir, f))) copyFileSync(join(dir, f), join(scratch, f));
    npm(["install", "--package-lock-only", "--ignore-scripts", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"], scratch);
    return readFileSync(join(scratch, "package-lock.json"), "utf8");
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** null when the committed lockfile is what `npm install` writes; otherwise the first lines that differ. */
export function lockfileDrift(dir = root) {
  const committed = readFileSync(join(dir, "package-lock.json"), "utf8");
  const resolved = resolvedLockfile(dir);
  if (committed === resolved) return null;
  const a = committed.split("\n");
  const b = resolved.split("\n");
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  return [`first difference at line ${i + 1}:`, `- committed: ${a[i] ?? "(end of file)"}`, `+ npm install: ${b[i] ?? "(end of file)"}`].join("\n");
}

if (process.argv[1] === new URL(import.meta.url).pathname) {
  const drift = lockfileDrift(root);
  if (drift) {
    console.error(`package-lock.json is not what \`npm install\` writes (run \`npm install\` and commit package-lock.json):\n${drift}`);
    process.exit(1);
  }
  console.log("package-lock.json: in step with package.json.");
}
