// The API reference's renderer (Swagger UI, npm package `swagger-ui-dist`), and the console's
// charting library (uPlot, npm package `uplot`), copied from
// node_modules into the gateway's static assets (`[assets]` in the root wrangler.toml), so `/docs`
// works offline and under a same-origin CSP, with no CDN. Run by `npm run dev`, `npm run deploy`
// and the test config; idempotent (copies only what changed). The copies are git-ignored: the
// package version in package-lock.json is the one source of what ships.
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, join, resolve } from "node:path";

const root = resolve(dirname(new URL(import.meta.url).pathname), "..");
/** Where the copies go; served at `/docs/vendor/…`. */
export const DOCS_VENDOR_DIR = join(root, "workers/gateway/assets/docs/vendor");
const FILES = ["swagger-ui-bundle.js", "swagger-ui-bundle.js.LICENSE.txt", "swagger-ui.css", "LICENSE", "NOTICE"];
/** The console's charting library (npm package `uplot`), served at `/console/vendor/…`. */
export const CONSOLE_VENDOR_DIR = join(root, "workers/gateway/assets/console/vendor");
const CONSOLE_FILES = ["dist/uPlot.iife.min.js", "dist/uPlot.min.css", "LICENSE"];

/**
 * Copies the renderer's files into the assets folder when missing or different. Without the
 * package installed it only warns (the stack still runs; `/docs` then has no renderer, which the
 * browser test catches): a stale node_modules must not stop every other test.
 */
export function ensureDocsAssets() {
  copyPackageFiles("swagger-ui-dist", FILES, DOCS_VENDOR_DIR, "/docs will have no renderer");
  copyPackageFiles("uplot", CONSOLE_FILES, CONSOLE_VENDOR_DIR, "/console will have no charts");
}

function copyPackageFiles(pkg, files, dir, without) {
  let from;
  try {
    from = dirname(createRequire(join(root, "package.json")).resolve(`${pkg}/package.json`));
  } catch {
    console.warn(`${pkg} is not installed (run \`npm install\`): ${without}.`);
    return;
  }
  mkdirSync(dir, { recursive: true });
  for (const name of files) {
    const src = join(from, name);
    const dst = join(dir, basename(name));
    if (existsSync(dst) && statSync(dst).size === statSync(src).size && readFileSync(dst).equals(readFileSync(src))) continue;
    copyFileSync(src, dst);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) ensureDocsAssets();
