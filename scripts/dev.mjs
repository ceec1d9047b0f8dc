// `npm run dev`: the whole stack on http://localhost:8787 with local D1/KV/R2/Queues/DOs persisted
// under .wrangler/state. Applies every D1 migration first and sets up local secrets (.dev.vars per
// Worker, generated once and kept in the git-ignored .dev.secrets.json; ADMIN_TOKEN from the
// environment wins). Works offline.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { ensureDocsAssets } from "./docs-assets.mjs";
import { generateLocalSecrets, secretsFor } from "./local-secrets.mjs";
import { D1_DATABASES, OPTIONAL_SECRETS, WORKERS } from "./workers.mjs";

const root = resolve(dirname(new URL(import.meta.url).pathname), "..");
const wrangler = join(root, "node_modules/.bin/wrangler");
const persist = join(root, ".wrangler/state");
const port = process.env.PORT ?? "8787";
// Node 22 from node_modules/.bin first, also when this script is started without npm.
// CLOUDFLARE_CF_FETCH_ENABLED=false: Miniflare's placeholder `request.cf` instead of downloading one
// from workers.cloudflare.com at every start (offline, that printed a DNS failure; the gateway reads
// no `cf` field).
const env = {
  ...process.env,
  WRANGLER_SEND_METRICS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: process.env.CLOUDFLARE_CF_FETCH_ENABLED ?? "false",
  PATH: `${join(root, "node_modules/.bin")}:${process.env.PATH}`,
};

// 1. Local secrets, stable across runs.
const store = join(root, ".dev.secrets.json");
// A secret added since the store was written (a new key pair) is generated; existing ones are kept.
let secrets = { ...(await generateLocalSecrets()), ...(existsSync(store) ? JSON.parse(readFileSync(store, "utf8")) : {}) };
if (process.env.ADMIN_TOKEN) secrets.ADMIN_TOKEN = process.env.ADMIN_TOKEN;
writeFileSync(store, JSON.stringify(secrets, null, 2), { mode: 0o600 });

const devOnlyVars = {
  // Local development talks to loopback upstreams (a local vLLM/Ollama, the fake upstream) and
  // delivers webhooks to receivers on this machine.
  "model-proxy": { ALLOW_PRIVATE_UPSTREAMS: "true" },
  tail: { ALLOW_PRIVATE_UPSTREAMS: "true" },
};
for (const w of WORKERS) {
  // Optional secrets (PLATFORM_PROVIDER_KEYS) come from this process's environment when set there.
  const optional = Object.fromEntries((OPTIONAL_SECRETS[w.name] ?? []).filter((n) => process.env[n]).map((n) => [n, process.env[n]]));
  const vars = { ...secretsFor(w.name, secrets), ...optional, ...(devOnlyVars[w.name] ?? {}) };
  // Single quotes: dotenv keeps their content literally, so JSON values (MASTER_KEYS, the JWKs) arrive
  // intact; in double quotes it would leave every \" escaped. No value here contains ' or a newline.
  const lines = Object.entries(vars).map(([k, v]) => `${k}='${v}'`);
  writeFileSync(join(root, dirname(w.config), ".dev.vars"), lines.join("\n") + "\n", { mode: 0o600 });
}

// 2. Migrations, before anything serves a request.
for (const db of D1_DATABASES) {
  const dir = join(root, "migrations", db.name);
  if (!existsSync(dir) || !readdirSync(dir).some((f) => f.endsWith(".sql"))) continue;
  execFileSync(wrangler, ["d1", "migrations", "apply", db.name, "--local", "-c", db.config, "--persist-to", persist], {
    cwd: root,
    env: { ...env, CI: "true" }, // CI=true: no interactive confirmation prompt
    stdio: ["ignore", "ignore", "inherit"],
  });
}
console.log("D1 migrations applied.");

// `/docs`'s renderer into the gateway's static assets.
ensureDocsAssets();

// 3. All seven Workers in one local runtime; the gateway (first config) serves the port.
const configs = WORKERS.slice()
  .sort((a, b) => (a.name === "gateway" ? -1 : b.name === "gateway" ? 1 : 0))
  .flatMap((w) => ["-c", w.config]);
const child = spawn(wrangler, ["dev", ...configs, "--port", port, "--persist-to", persist, "--show-interactive-dev-session=false"], {
  cwd: root,
  env,
  stdio: "inherit",
});
const banner = `Gateway: http://localhost:${port}   admin token: ${secrets.ADMIN_TOKEN}`;
console.log(`\n${banner}\n`);
const stop = () => child.kill("SIGINT");
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
child.on("exit", (code) => process.exit(code ?? 0));

// 4. Once every Worker answers (the gateway's full /health), the URL and token again, below wrangler's output.
for (;;) {
  if (child.exitCode !== null) break;
  // With the admin token /health checks every Worker and store now (the public one is a cached summary).
  const ready = await fetch(`http://localhost:${port}/health`, {
    headers: { authorization: `Bearer ${secrets.ADMIN_TOKEN}` },
    signal: AbortSignal.timeout(30_000),
  }).then(
    (r) => r.ok,
    () => false,
  );
  if (ready) {
    console.log(`\nReady. ${banner}\n  docs: http://localhost:${port}/docs   the token is kept in .dev.secrets.json   stop: Ctrl-C\n`);
    break;
  }
  await new Promise((r) => setTimeout(r, 250));
}
