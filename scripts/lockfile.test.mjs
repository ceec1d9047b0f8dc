// The lockfile check that `npm test` (and so CI) runs first: it passes on the committed lockfile and
// fails on the drifts that broke `npm ci` or made `npm install` rewrite the file.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { lockfileDrift } from "./lockfile.mjs";

const scratch = [];
/** A copy of the project's package.json and lockfile, edited by `edit`. */
function project(edit = () => {}) {
  const dir = mkdtempSync(join(tmpdir(), "lockfile-test-"));
  scratch.push(dir);
  for (const f of ["package.json", "package-lock.json"]) cpSync(f, join(dir, f));
  const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  const lock = JSON.parse(readFileSync(join(dir, "package-lock.json"), "utf8"));
  edit(pkg, lock);
  writeFileSync(join(dir, "package.json"), JSON.stringify(pkg, null, 2) + "\n");
  writeFileSync(join(dir, "package-lock.json"), JSON.stringify(lock, null, 2) + "\n");
  return dir;
}
afterEach(() => {
  for (const d of scratch.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("lockfile check", () => {
  it("passes on the committed lockfile", () => {
    expect(lockfileDrift(process.cwd())).toBeNull();
  });

  it("fails when package.json changed a range without npm install", () => {
    const dir = project((pkg) => {
      pkg.devDependencies.autocannon = "^9.0";
    });
    expect(lockfileDrift(dir)).toMatch(
      /first difference at line \d+:\n- committed: .*"autocannon": "\^9\.0\.0"[\s\S]*\+ npm install: .*"autocannon": "\^9\.0"/,
    );
  });

  it("fails when the lockfile lacks another platform's optional package (the `npm ci` failure on macOS and Windows)", () => {
    const dir = project((_, lock) => {
      delete lock.packages["node_modules/@cloudflare/workerd-darwin-arm64"];
    });
    expect(lockfileDrift(dir)).toMatch(/\+ npm install: .*"node_modules\/@cloudflare\/workerd-darwin-arm64": \{/);
  });
});
