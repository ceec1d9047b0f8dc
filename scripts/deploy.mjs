// `npm run deploy -- --env production [--secrets-file <file.json>] [--dry-run]`: the one place that
// says how the stack is deployed and in which order (the README points here).
//
//   1. checks each Worker's config for that environment (ENVIRONMENT set to it, no dev keys, no
//      private upstreams) and that wrangler is authenticated (`wrangler whoami`);
//   2. provisions, idempotently, what `wrangler deploy` does not create before it is needed: the D1
//      databases (their migrations run before any Worker that reads them is deployed) and the Queues
//      with their dead-letter queues (a consumer's queue must exist). KV namespaces and the R2 bucket
//      are created or reused by `wrangler deploy` itself (no ids in the configs);
//   3. applies every D1 migration remotely;
//   4. deploys the Workers in `WORKERS` order (scripts/workers.mjs): a Worker's service bindings
//      must exist before it is deployed, and the gateway, the only public one, goes last.
//      `--secrets-file` (JSON `{NAME: value}`, every Worker's secrets in one file) hands each Worker
//      only its own secrets (`wrangler deploy --secrets-file`, needed for a Worker's first deploy).
//
// `--dry-run` runs every check that needs no account (`wrangler deploy --dry-run` builds each Worker
// offline and prints its bindings and vars) and prints the rest of the plan. Tested in
// scripts/deploy.test.mjs, which `npm test` runs.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { unstable_readConfig } from "wrangler";
import { ensureDocsAssets } from "./docs-assets.mjs";
import { OPTIONAL_SECRETS, WORKERS } from "./workers.mjs";

const root = resolve(dirname(new URL(import.meta.url).pathname), "..");
const wranglerBin = join(root, "node_modules/.bin/wrangler");
const wranglerEnv = { ...process.env, WRANGLER_SEND_METRICS: "false", PATH: `${join(root, "node_modules/.bin")}:${process.env.PATH}` };

/** A Worker's config as wrangler resolves it for `env` (vars, secrets and bindings of that environment). */
export const configFor = (worker, env) => unstable_readConfig({ config: join(root, worker.config), env }, { hideWarnings: true });

/**
 * What must hold before a Worker is deployed to `env`; a list of problems, empty when it may go.
 * Production never runs with development settings: ENVIRONMENT names the environment, keys are
 * not issued as `sk-dev-…`, providers cannot reach loopback or private addresses.
 */
export function configProblems(worker, config, env) {
  const vars = config.vars ?? {};
  const problems = [];
  if (config.targetEnvironment !== env) problems.push(`${worker.config} has no [env.${env}]`);
  if (vars.ENVIRONMENT !== env) problems.push(`${worker.name}: ENVIRONMENT is ${JSON.stringify(vars.ENVIRONMENT)}, not "${env}"`);
  if (vars.KEY_ENV === "dev") problems.push(`${worker.name}: KEY_ENV "dev" would issue sk-dev-… keys`);
  if (vars.ALLOW_PRIVATE_UPSTREAMS === "true") problems.push(`${worker.name}: ALLOW_PRIVATE_UPSTREAMS is for local development only`);
  for (const db of config.d1_databases ?? []) if (db.database_id) problems.push(`${worker.name}: D1 ${db.binding} has a pasted database_id`);
  for (const kv of config.kv_namespaces ?? []) if (kv.id) problems.push(`${worker.name}: KV ${kv.binding} has a pasted id`);
  return problems;
}

/** The D1 databases and Queues the Workers of `env` use, by name (what step 2 provisions). */
export function resourcesFor(configs) {
  const d1 = new Map();
  const queues = new Set();
  for (const { worker, config } of configs) {
    for (const db of config.d1_databases ?? []) d1.set(db.database_name, { worker, binding: db.binding });
    for (const p of config.queues?.producers ?? []) queues.add(p.queue);
    for (const c of config.queues?.consumers ?? []) {
      queues.add(c.queue);
      if (c.dead_letter_queue) queues.add(c.dead_letter_queue);
    }
  }
  return { d1, queues: [...queues].sort() };
}

/** Each Worker's own secrets out of one file holding them all: its required ones and optional ones present. */
export function secretsOf(worker, config, all) {
  const names = [...(config.secrets?.required ?? []), ...(OPTIONAL_SECRETS[worker.name] ?? [])];
  return Object.fromEntries(names.filter((n) => typeof all[n] === "string").map((n) => [n, all[n]]));
}

function parseArgs(argv) {
  const args = { env: undefined, dryRun: false, secretsFile: undefined };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split("=", 2);
    const value = () => inline ?? argv[++i];
    if (flag === "--env" || flag === "-e") args.env = value();
    else if (flag === "--dry-run") args.dryRun = true;
    else if (flag === "--secrets-file") args.secretsFile = value();
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  if (!args.env) throw new Error("name the environment: npm run deploy -- --env production");
  return args;
}

function main() {
  const { env, dryRun, secretsFile } = parseArgs(process.argv.slice(2));
  const run = (args, opts = {}) => execFileSync(wranglerBin, args, { cwd: root, env: wranglerEnv, stdio: "inherit", ...opts });
  const succeeds = (args) => {
    try {
      execFileSync(wranglerBin, args, { cwd: root, env: wranglerEnv, stdio: "ignore" });
      return true;
    } catch {
      return false;
    }
  };

  // 1. Checks.
  const configs = WORKERS.map((worker) => ({ worker, config: configFor(worker, env) }));
  const problems = configs.flatMap(({ worker, config }) => configProblems(worker, config, env));
  if (problems.length) throw new Error(`refusing to deploy to ${env}:\n  ${problems.join("\n  ")}`);
  console.log(`Deploying to ${env}, in this order: ${WORKERS.map((w) => w.name).join(", ")}.`);
  if (!dryRun) run(["whoami"]);

  // 2. Provisioning (idempotent: only what does not exist is created).
  const { d1, queues } = resourcesFor(configs);
  const databases = dryRun
    ? []
    : JSON.parse(execFileSync(wranglerBin, ["d1", "list", "--json"], { cwd: root, env: wranglerEnv, encoding: "utf8" })).map((d) => d.name);
  for (const name of d1.keys()) {
    if (dryRun) console.log(`would create D1 database ${name} unless it exists`);
    else if (!databases.includes(name)) run(["d1", "create", name]);
  }
  for (const name of queues) {
    if (dryRun) console.log(`would create Queue ${name} unless it exists`);
    else if (!succeeds(["queues", "info", name])) run(["queues", "create", name]);
  }

  // 3. Migrations, before any Worker that reads the database is deployed.
  for (const [name, { worker }] of d1) {
    if (dryRun) console.log(`would apply D1 migrations to ${name} (${worker.config})`);
    else run(["d1", "migrations", "apply", name, "--remote", "-c", worker.config, "--env", env]);
  }

  // 4. The Workers, in order (the gateway's static assets carry `/docs`'s renderer).
  ensureDocsAssets();
  const all = secretsFile ? JSON.parse(readFileSync(secretsFile, "utf8")) : null;
  const scratch = mkdtempSync(join(tmpdir(), "deploy-secrets-"));
  try {
    for (const { worker, config } of configs) {
      const args = ["deploy", "-c", worker.config, "--env", env];
      if (all) {
        const file = join(scratch, `${worker.name}.json`);
        writeFileSync(file, JSON.stringify(secretsOf(worker, config, all)), { mode: 0o600 });
        args.push("--secrets-file", file);
      }
      if (dryRun) args.push("--dry-run");
      console.log(`\n── ${worker.name} (${worker.config})`);
      run(args);
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

if (process.argv[1] === new URL(import.meta.url).pathname) {
  try {
    main();
  } catch (e) {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  }
}
