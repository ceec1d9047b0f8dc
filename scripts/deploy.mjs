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
//      must exist before it is deployed (Cloudflare refuses a binding to a missing Worker, code
//      10143), and the gateway, the only public one, goes last. One pair binds both ways — tail →
//      gateway (`GATEWAY_BATCH`: batch lines run through the gateway's path), gateway → tail — so
//      on an account where the gateway does not exist yet (the first deploy), tail goes first from
//      a temporary copy of its config without that binding, and again with its full config as soon
//      as the gateway exists (`deployPlan`). Which Workers exist is asked of the account
//      (`wrangler deployments list --name`); a dry run plans for a brand-new account.
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
// DEPLOY_WRANGLER: another wrangler executable (scripts/deploy.test.mjs runs a fake account with it).
const wranglerBin = process.env.DEPLOY_WRANGLER ?? join(root, "node_modules/.bin/wrangler");
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

/**
 * What `config` binds in other Workers: its service bindings, and Durable Object bindings whose
 * class another script hosts. Each must exist on the account before this Worker is deployed.
 */
export function workerBindings(config) {
  const services = (config.services ?? []).map((s) => ({ kind: "services", binding: s.binding, target: s.service }));
  const objects = (config.durable_objects?.bindings ?? [])
    .filter((d) => d.script_name)
    .map((d) => ({ kind: "durable_objects", binding: d.name, target: d.script_name }));
  return [...services, ...objects].filter((b) => b.target !== config.name);
}

/**
 * The deploy steps, in `configs` order (WORKERS): `{worker, config, omit}`, where `omit` lists the
 * bindings left out of that step. A Worker bound to one that neither exists on the account
 * (`existing`, names) nor is deployed earlier in the plan — tail → gateway on a brand-new account —
 * is deployed without those bindings, then again with every binding (`again: true`) right after
 * the last of them is deployed. On an account that has every Worker, the plan is `configs` as is.
 */
export function deployPlan(configs, existing) {
  const present = new Set(existing);
  const steps = [];
  const waiting = [];
  for (const { worker, config } of configs) {
    const omit = workerBindings(config).filter((b) => !present.has(b.target));
    steps.push({ worker, config, omit });
    present.add(config.name);
    if (omit.length > 0) waiting.push({ worker, config, targets: omit.map((b) => b.target) });
    for (const w of [...waiting]) {
      if (!w.targets.every((t) => present.has(t))) continue;
      steps.push({ worker: w.worker, config: w.config, omit: [], again: true });
      waiting.splice(waiting.indexOf(w), 1);
    }
  }
  if (waiting.length > 0) {
    const names = waiting.flatMap((w) => w.targets.map((t) => `${w.worker.name} → ${t}`));
    throw new Error(`bound to a Worker no config deploys: ${names.join(", ")}`);
  }
  return steps;
}

const bindingKey = { services: "binding", durable_objects: "name" };
const header = { services: (env) => `[[env.${env}.services]]`, durable_objects: (env) => `[[env.${env}.durable_objects.bindings]]` };

/**
 * A copy of a Worker's wrangler.toml without `omit`'s bindings in `[env.<env>]`, written beside the
 * original (so every relative path in it still resolves) — checked by reading it back: it must
 * bind exactly what the original binds minus `omit`. Returns its path; the caller removes it.
 */
export function configWithout(worker, env, omit) {
  const text = readFileSync(join(root, worker.config), "utf8");
  const blocks = text.split(/^(?=\[)/m);
  const kept = blocks.filter(
    (block) => !omit.some((b) => block.startsWith(header[b.kind](env)) && new RegExp(`^${bindingKey[b.kind]}\\s*=\\s*"${b.binding}"\\s*$`, "m").test(block)),
  );
  if (kept.length !== blocks.length - omit.length) throw new Error(`${worker.config}: could not find [env.${env}] bindings ${omit.map((b) => b.binding)}`);
  const path = join(root, dirname(worker.config), `.deploy-${worker.name}-${env}.toml`);
  writeFileSync(path, kept.join(""));
  const bound = (config) => workerBindings(config).map((b) => `${b.kind}:${b.binding}`);
  const expected = bound(configFor(worker, env)).filter((b) => !omit.some((o) => `${o.kind}:${o.binding}` === b));
  const written = unstable_readConfig({ config: path, env }, { hideWarnings: true });
  if (JSON.stringify(bound(written)) !== JSON.stringify(expected) || written.name !== worker.name) {
    rmSync(path, { force: true });
    throw new Error(`${worker.config}: the temporary config without ${omit.map((b) => b.binding)} does not bind what it should`);
  }
  return path;
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

  // 4. The Workers, in order (the gateway's static assets carry `/docs`'s renderer); a brand-new
  //    account's first deploy breaks the tail ↔ gateway cycle (deployPlan).
  ensureDocsAssets();
  const existing = dryRun ? [] : configs.map(({ config }) => config.name).filter((name) => workerExists(name));
  const plan = deployPlan(configs, existing);
  if (plan.length > configs.length) {
    console.log(
      `First deploy of a Worker bound in a cycle: ${plan
        .filter((p) => p.omit.length > 0)
        .map((p) => `${p.worker.name} goes first without ${p.omit.map((b) => `${b.binding} (→ ${b.target})`).join(", ")}, then again with it`)
        .join("; ")}.`,
    );
  }
  const all = secretsFile ? JSON.parse(readFileSync(secretsFile, "utf8")) : null;
  const scratch = mkdtempSync(join(tmpdir(), "deploy-secrets-"));
  const temporary = [];
  try {
    for (const { worker, config, omit, again } of plan) {
      const configPath = omit.length > 0 ? configWithout(worker, env, omit) : worker.config;
      if (omit.length > 0) temporary.push(configPath);
      const args = ["deploy", "-c", configPath, "--env", env];
      if (all) {
        const file = join(scratch, `${worker.name}.json`);
        writeFileSync(file, JSON.stringify(secretsOf(worker, config, all)), { mode: 0o600 });
        args.push("--secrets-file", file);
      }
      if (dryRun) args.push("--dry-run");
      const note = omit.length > 0 ? `, without ${omit.map((b) => b.binding).join(", ")} for now` : again ? ", again with every binding" : "";
      console.log(`\n── ${worker.name} (${worker.config}${note})`);
      run(args);
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
    for (const path of temporary) rmSync(path, { force: true });
  }

  /** Whether the account has a Worker of this name (a failure that is not "not found" stops the deploy). */
  function workerExists(name) {
    try {
      execFileSync(wranglerBin, ["deployments", "list", "--name", name, "--json"], { cwd: root, env: wranglerEnv, stdio: ["ignore", "ignore", "pipe"] });
      return true;
    } catch (e) {
      const stderr = String(e.stderr ?? "");
      if (/10007|not[ _]found|does not exist/i.test(stderr)) return false;
      throw new Error(`could not tell whether the Worker ${name} exists: ${stderr.trim().slice(0, 500)}`);
    }
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
