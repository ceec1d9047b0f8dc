import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";

/**
 * A real browser for tests: `playwright-core` driving Debian's Chromium (`/usr/bin/chromium`, the
 * `chromium` package). Playwright's own browser downloads are never used — they come from a host
 * this project's machines cannot reach — so the browser is the distribution's, installed by
 * `ensureChromium()` (the `browser` test project's global setup) when it is missing.
 */
export const CHROMIUM_PATH = process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium";

/** Where browser tests keep their artefacts (screenshots); git-ignored. */
export const TEST_RESULTS_DIR = join(dirname(new URL(import.meta.url).pathname), "../../test-results");

/**
 * Installs Debian's Chromium when it is not there (`apt-get update && apt-get install -y chromium`):
 * CI runs as root on a fresh machine and gets it through `npm test` itself. Elsewhere without root,
 * says what to run instead.
 */
export function ensureChromium(): void {
  if (existsSync(CHROMIUM_PATH)) return;
  if (process.getuid?.() !== 0) {
    throw new Error(`Chromium is missing at ${CHROMIUM_PATH}: install it (sudo apt-get install -y chromium) or set CHROMIUM_PATH.`);
  }
  const apt = (args: string[]) =>
    execFileSync("apt-get", args, { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  apt(["update", "-qq"]);
  apt(["install", "-y", "-qq", "--no-install-recommends", "chromium"]);
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`apt-get installed chromium, but ${CHROMIUM_PATH} is still missing.`);
}

/** Headless Chromium; the caller closes it. */
export async function launchBrowser(): Promise<Browser> {
  ensureChromium();
  // --no-sandbox: tests run as root (CI), where Chromium's sandbox refuses to start.
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: ["--no-sandbox", "--disable-dev-shm-usage"] });
}

/**
 * A page that records every request it makes and every console error, so a test can assert that
 * nothing left the origin under test and nothing failed.
 */
export async function openPage(browser: Browser): Promise<{ page: Page; requested: string[]; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const requested: string[] = [];
  const errors: string[] = [];
  page.on("request", (r) => requested.push(r.url()));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("response", (r) => {
    if (r.status() >= 400) errors.push(`HTTP ${r.status()} ${r.url()}`);
  });
  return { page, requested, errors };
}

/** Saves a full-page screenshot under test-results/ and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(TEST_RESULTS_DIR, { recursive: true });
  const path = join(TEST_RESULTS_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: false });
  return path;
}
