// `npm run deploy`: applies remote D1 migrations, then deploys every Worker in dependency order
// (a Worker's service bindings must exist before it is deployed; the gateway goes last).
import { execFileSync } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { D1_DATABASES, WORKERS } from "./workers.mjs";

const root = resolve(dirname(new URL(import.meta.url).pathname), "..");
const wrangler = join(root, "node_modules/.bin/wrangler");
const env = { ...process.env, PATH: `${join(root, "node_modules/.bin")}:${process.env.PATH}` };
const run = (args) => execFileSync(wrangler, args, { cwd: root, env, stdio: "inherit" });

for (const db of D1_DATABASES) run(["d1", "migrations", "apply", db.name, "--remote", "-c", db.config]);
for (const w of WORKERS) run(["deploy", "-c", w.config]);
