// The production deploy, without an account: every Worker's [env.production] matches its local
// config binding for binding, carries production vars, and builds (`wrangler deploy --dry-run --env
// production`, offline) in the order the README states; the secrets each Worker needs are exactly
// the ones `npm run dev` and the test stack write for it.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { configFor, configProblems, deployPlan, resourcesFor, secretsOf } from "./deploy.mjs";
import { generateLocalSecrets, secretsFor } from "./local-secrets.mjs";
import { OPTIONAL_SECRETS, WORKERS } from "./workers.mjs";

/** tail's bindings to the gateway (batch lines, agent steps run through its path): the cycle a first deploy breaks. */
const tailToGateway = () =>
  (
    configFor(
      WORKERS.find((w) => w.name === "tail"),
      "production",
    ).services ?? []
  )
    .filter((s) => s.service === "gateway")
    .map((s) => s.binding);

/** What a config binds, by kind and name, without resource ids (local placeholders; none in production). */
function bindings(config) {
  const by = (list, key, value) => Object.fromEntries((list ?? []).map((b) => [b[key], value(b)]));
  return {
    vars: Object.keys(config.vars ?? {}).sort(),
    secrets: [...(config.secrets?.required ?? [])].sort(),
    services: by(config.services, "binding", (s) => `${s.service}#${s.entrypoint ?? ""}`),
    d1: by(config.d1_databases, "binding", (d) => `${d.database_name} ${d.migrations_dir ?? ""}`),
    kv: by(config.kv_namespaces, "binding", () => "kv"),
    r2: by(config.r2_buckets, "binding", (r) => r.bucket_name),
    durableObjects: by(config.durable_objects?.bindings, "name", (d) => `${d.class_name}@${d.script_name ?? ""}`),
    producers: by(config.queues?.producers, "binding", (q) => q.queue),
    consumers: by(config.queues?.consumers, "queue", ({ queue: _, ...settings }) => JSON.stringify(settings)),
    analytics: by(config.analytics_engine_datasets, "binding", (a) => a.dataset),
  };
}

describe("production deploy", () => {
  it("every Worker has an [env.production] binding what its local config binds, with no resource id", () => {
    for (const w of WORKERS) {
      const local = configFor(w, undefined);
      const production = configFor(w, "production");
      expect(production.targetEnvironment, w.config).toBe("production");
      expect(production.name, w.config).toBe(w.name);
      expect(bindings(production), `${w.config}: [env.production] differs from the top level`).toEqual(bindings(local));
      expect(configProblems(w, production, "production")).toEqual([]);
    }
  });

  it("refuses development settings for production, naming each", () => {
    const auth = WORKERS.find((w) => w.name === "auth");
    const proxy = WORKERS.find((w) => w.name === "model-proxy");
    expect(configProblems(auth, configFor(auth, undefined), "production")).toEqual([
      "workers/auth/wrangler.toml has no [env.production]",
      'auth: ENVIRONMENT is "development", not "production"',
      'auth: KEY_ENV "dev" would issue sk-dev-… keys',
      "auth: D1 AUTH_DB has a pasted database_id",
      "auth: KV AUTH_CACHE has a pasted id",
    ]);
    expect(
      configProblems(proxy, { ...configFor(proxy, "production"), vars: { ENVIRONMENT: "production", ALLOW_PRIVATE_UPSTREAMS: "true" } }, "production"),
    ).toEqual(["model-proxy: ALLOW_PRIVATE_UPSTREAMS is for local development only"]);
  });

  it("provisions every D1 database and Queue (with dead-letter queues) the Workers use", () => {
    const { d1, queues } = resourcesFor(WORKERS.map((worker) => ({ worker, config: configFor(worker, "production") })));
    expect([...d1.keys()].sort()).toEqual(["auth", "billing", "proxy", "tail"]);
    expect(queues).toEqual(["batch-requests", "batch-requests-dlq", "usage-events", "usage-events-dlq", "webhooks", "webhooks-dlq"]);
  });

  it("the secrets a Worker requires are the ones dev and the test stack write for it (no 'Missing required secrets')", async () => {
    const all = await generateLocalSecrets();
    for (const w of WORKERS) {
      for (const env of [undefined, "production"]) {
        expect(Object.keys(secretsFor(w.name, all)).sort(), `${w.name} ${env ?? "local"}`).toEqual([...(configFor(w, env).secrets?.required ?? [])].sort());
      }
    }
    expect(OPTIONAL_SECRETS).toEqual({
      "model-proxy": ["PLATFORM_PROVIDER_KEYS"],
      gateway: ["METRICS_TOKEN"],
      billing: ["STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"],
    });
    const proxy = WORKERS.find((w) => w.name === "model-proxy");
    const file = { ...all, PLATFORM_PROVIDER_KEYS: '{"openai":"sk-x"}' };
    expect(Object.keys(secretsOf(proxy, configFor(proxy, "production"), file)).sort()).toEqual([
      "GATEWAY_VERIFY_JWK",
      "PLATFORM_PROVIDER_KEYS",
      "PRINCIPAL_VERIFY_JWK",
    ]);
    expect(Object.keys(secretsOf(proxy, configFor(proxy, "production"), all)).sort()).toEqual(["GATEWAY_VERIFY_JWK", "PRINCIPAL_VERIFY_JWK"]);
  });

  it("`npm run deploy -- --env production --dry-run` builds every Worker with production vars, in the README's order", () => {
    const out = execFileSync(process.execPath, ["scripts/deploy.mjs", "--env", "production", "--dry-run"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    const order = WORKERS.map((w) => w.name).join(", ");
    expect(out).toContain(`Deploying to production, in this order: ${order}.`);
    expect(readFileSync("README.md", "utf8")).toContain(`in this order: ${order}.`);
    const sections = out.split(/\n── /).slice(1);
    // A dry run plans for a brand-new account: tail first without its binding to the gateway, again after it.
    expect(sections.map((s) => s.split(" ")[0])).toEqual([...WORKERS.map((w) => w.name), "tail"]);
    expect(tailToGateway()).toContain("GATEWAY_BATCH");
    expect(out).toContain(`── tail (workers/tail/wrangler.toml, without ${tailToGateway().join(", ")} for now)`);
    expect(out).toContain("── tail (workers/tail/wrangler.toml, again with every binding)");
    const [first, last] = sections.filter((s) => s.startsWith("tail "));
    expect(first).not.toContain("env.GATEWAY_BATCH");
    expect(last).toMatch(/env\.GATEWAY_BATCH \(gateway#BatchLineService\)/);
    for (const s of sections) {
      expect(s).toMatch(/env\.ENVIRONMENT \("production"\)\s+Environment Variable/);
      expect(s).toContain("--dry-run: exiting now.");
    }
    expect(sections[WORKERS.findIndex((w) => w.name === "auth")]).toMatch(/env\.KEY_ENV \("live"\)/);
    expect(sections[WORKERS.findIndex((w) => w.name === "model-proxy")]).toMatch(/env\.ALLOW_PRIVATE_UPSTREAMS \("false"\)/);
  }, 300_000);

  it("plans a brand-new account's first deploy around the tail ↔ gateway cycle, and a later deploy in plain order", () => {
    const configs = WORKERS.map((worker) => ({ worker, config: configFor(worker, "production") }));
    const steps = (existing) =>
      deployPlan(configs, existing).map((p) => `${p.worker.name}${p.omit.map((b) => ` -${b.binding}`).join("")}${p.again ? " again" : ""}`);
    const tail = `tail${tailToGateway()
      .map((b) => ` -${b}`)
      .join("")}`;
    expect(tail).toContain("-GATEWAY_BATCH");
    expect(steps([])).toEqual(["secrets", "auth", "model-proxy", tail, "billing", "rate-limiter", "gateway", "tail again"]);
    expect(steps(WORKERS.map((w) => w.name))).toEqual(WORKERS.map((w) => w.name));
    // An account that lost only its gateway (deleted by hand) gets the same treatment.
    expect(steps(WORKERS.map((w) => w.name).filter((n) => n !== "gateway"))).toEqual(steps([]));
  });

  describe("against an account (a fake wrangler that refuses a binding to a missing Worker, as Cloudflare does)", () => {
    const fakeWrangler = join(dirname(new URL(import.meta.url).pathname), "testing/fake-wrangler.mjs");

    /** `npm run deploy -- --env production --secrets-file …` on an account holding `workers`; its state after. */
    async function deployTo(workers) {
      const dir = mkdtempSync(join(tmpdir(), "fake-account-"));
      try {
        const state = join(dir, "state.json");
        const existing = Object.fromEntries(workers.map((w) => [w, { services: [] }]));
        writeFileSync(state, JSON.stringify({ workers: existing, d1: [], queues: [], calls: [], deployed: [] }));
        const secrets = join(dir, "secrets.json");
        writeFileSync(secrets, JSON.stringify(await generateLocalSecrets()));
        let status = 0;
        let stderr = "";
        try {
          execFileSync(process.execPath, ["scripts/deploy.mjs", "--env", "production", "--secrets-file", secrets], {
            encoding: "utf8",
            stdio: ["ignore", "pipe", "pipe"],
            env: { ...process.env, DEPLOY_WRANGLER: fakeWrangler, FAKE_WRANGLER_STATE: state },
          });
        } catch (e) {
          status = e.status;
          stderr = e.stderr;
        }
        return { status, stderr, ...JSON.parse(readFileSync(state, "utf8")) };
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }

    it("deploys a brand-new account: tail without GATEWAY_BATCH, the rest, then tail with it; every Worker ends fully bound", async () => {
      const account = await deployTo([]);
      expect(account.stderr).toBe("");
      expect(account.status).toBe(0);
      expect(account.deployed.map((d) => d.name)).toEqual(["secrets", "auth", "model-proxy", "tail", "billing", "rate-limiter", "gateway", "tail"]);
      const tailServices = configFor(
        WORKERS.find((w) => w.name === "tail"),
        "production",
      )
        .services.map((s) => s.binding)
        .sort();
      expect(account.deployed[3].services).toEqual(tailServices.filter((b) => !tailToGateway().includes(b)));
      expect(account.deployed[7].services).toEqual(tailServices);
      for (const w of WORKERS) {
        expect(account.workers[w.name].services, w.name).toEqual((configFor(w, "production").services ?? []).map((s) => s.binding).sort());
      }
      expect(account.d1.sort()).toEqual(["auth", "billing", "proxy", "tail"]);
      expect(account.queues.sort()).toEqual(["batch-requests", "batch-requests-dlq", "usage-events", "usage-events-dlq", "webhooks", "webhooks-dlq"]);
      // The temporary config is gone.
      expect(readdirSync("workers/tail").filter((f) => f.startsWith(".deploy-"))).toEqual([]);
      expect(existsSync("workers/tail/.deploy-tail-production.toml")).toBe(false);
    }, 300_000);

    it("redeploys an account that has every Worker in plain order, each once", async () => {
      const account = await deployTo(WORKERS.map((w) => w.name));
      expect(account.status).toBe(0);
      expect(account.deployed.map((d) => d.name)).toEqual(WORKERS.map((w) => w.name));
      expect(account.calls.filter((c) => c[0] === "deploy").map((c) => c[2])).toEqual(WORKERS.map((w) => w.config));
    }, 300_000);
  });

  it("will not deploy without naming the environment", () => {
    let error;
    try {
      execFileSync(process.execPath, ["scripts/deploy.mjs", "--dry-run"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    } catch (e) {
      error = e;
    }
    expect(error?.status).toBe(1);
    expect(error?.stderr).toContain("name the environment: npm run deploy -- --env production");
  }, 60_000);
});
