// The static checks of `npm test` (lockfile, binding types + tsc, ESLint, Prettier), run side by side:
// each is one single-threaded process, so on CI's two cores two at a time take about as long as the
// longest (ESLint's type-aware pass) instead of their sum. Every check runs to the end; each one's
// output is printed in one piece when it finishes, and the script fails if any of them failed.
// The checks themselves are the package.json scripts of the same names (`npm run lint`, …).
import { spawn } from "node:child_process";
import { availableParallelism } from "node:os";

// Longest first, so the short ones fill in beside it.
const CHECKS = ["lint", "typecheck", "format:check", "lockfile:check"];

/** npm itself: the one running this script when there is one (`npm test`), else `npm` on PATH. */
const npm = (args) => {
  const cli = process.env.npm_execpath;
  return cli && cli.endsWith(".js") ? [process.execPath, [cli, ...args]] : ["npm", args];
};

function run(name) {
  const started = Date.now();
  return new Promise((resolve) => {
    const [cmd, argv] = npm(["run", "--silent", name]);
    const child = spawn(cmd, argv, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, FORCE_COLOR: process.env.FORCE_COLOR ?? "1" } });
    const out = [];
    child.stdout.on("data", (d) => out.push(d));
    child.stderr.on("data", (d) => out.push(d));
    child.on("error", (err) => resolve({ name, ok: false, output: String(err), seconds: 0 }));
    child.on("close", (code) => resolve({ name, ok: code === 0, output: Buffer.concat(out).toString(), seconds: (Date.now() - started) / 1000 }));
  });
}

const slots = Math.max(2, Math.min(CHECKS.length, availableParallelism()));
const queue = [...CHECKS];
const failed = [];
await Promise.all(
  Array.from({ length: slots }, async () => {
    for (let name = queue.shift(); name; name = queue.shift()) {
      const r = await run(name);
      process.stdout.write(`\n── npm run ${r.name}: ${r.ok ? "ok" : "FAILED"} (${r.seconds.toFixed(1)} s)\n${r.output}`);
      if (!r.ok) failed.push(r.name);
    }
  }),
);
if (failed.length) {
  console.error(`\nFailed: ${failed.map((n) => `npm run ${n}`).join(", ")}`);
  process.exit(1);
}
