#!/usr/bin/env node
// A fake `wrangler` for scripts/deploy.test.mjs: a Cloudflare account in a JSON file
// (FAKE_WRANGLER_STATE), holding which Workers, D1 databases and Queues exist, and every call made.
// It enforces the rule that orders a deploy: Cloudflare refuses a Worker whose service binding (or
// Durable Object binding to another script) names a Worker that does not exist (code 10143).
// It reads a config's `[env.<env>]` bindings with a few lines of its own instead of wrangler's
// reader (loading wrangler costs seconds per call); deploy.mjs checks its configs with wrangler's.
import { readFileSync, writeFileSync } from "node:fs";

const statePath = process.env.FAKE_WRANGLER_STATE;
if (!statePath) throw new Error("FAKE_WRANGLER_STATE is not set");
const state = JSON.parse(readFileSync(statePath, "utf8"));
const args = process.argv.slice(2);
state.calls.push(args);
const save = () => writeFileSync(statePath, JSON.stringify(state, null, 2));
const flag = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const fail = (message) => {
  save();
  process.stderr.write(`✘ [ERROR] ${message}\n`);
  process.exit(1);
};

const [command, sub] = args;
if (command === "whoami") {
  console.log("You are logged in (fake account).");
} else if (command === "d1" && sub === "list") {
  console.log(JSON.stringify(state.d1.map((name) => ({ name }))));
} else if (command === "d1" && sub === "create") {
  state.d1.push(args[2]);
} else if (command === "d1" && sub === "migrations") {
  if (!state.d1.includes(args[3])) fail(`Couldn't find a D1 DB with the name or binding '${args[3]}'`);
} else if (command === "queues" && sub === "info") {
  if (!state.queues.includes(args[2])) fail(`Queue "${args[2]}" does not exist. [code: 11000]`);
} else if (command === "queues" && sub === "create") {
  state.queues.push(args[2]);
} else if (command === "deployments" && sub === "list") {
  if (!state.workers[flag("--name")]) fail("A request to the Cloudflare API failed. workers.api.error.script_not_found [code: 10007]");
  console.log("[]");
} else if (command === "deploy") {
  const config = readBindings(flag("-c"), flag("--env"));
  const targets = [...config.services.map((s) => [s.binding, s.service]), ...config.objects.filter((d) => d.script_name).map((d) => [d.name, d.script_name])];
  for (const [binding, target] of targets) {
    if (target !== config.name && !state.workers[target]) {
      fail(`workers.api.error.service_binding_error: could not resolve binding "${binding}": script "${target}" not found [code: 10143]`);
    }
  }
  state.workers[config.name] = { services: config.services.map((s) => s.binding).sort() };
  state.deployed.push({ name: config.name, services: state.workers[config.name].services });
} else {
  fail(`the fake wrangler does not know: ${args.join(" ")}`);
}
save();

/** A wrangler.toml's `[env.<env>]` name, service bindings and Durable Object bindings: `key = "value"` lines of each table. */
function readBindings(path, env) {
  const tables = readFileSync(path, "utf8")
    .split(/^(?=\[)/m)
    .map((block) => ({
      header: block.split("\n")[0].trim(),
      values: Object.fromEntries([...block.matchAll(/^(\w+)\s*=\s*"([^"]*)"\s*$/gm)].map((m) => [m[1], m[2]])),
    }));
  const of = (header) => tables.filter((t) => t.header === header).map((t) => t.values);
  return {
    name: of(`[env.${env}]`)[0]?.name,
    services: of(`[[env.${env}.services]]`),
    objects: of(`[[env.${env}.durable_objects.bindings]]`),
  };
}
