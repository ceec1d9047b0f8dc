// The seven Workers, their configs, and which other Workers each one is bound to.
// One list used by types, dev, deploy and the test harness so they cannot disagree.
export const WORKERS = [
  // Deploy order: a Worker's service bindings must exist before it is deployed.
  { name: "secrets", config: "workers/secrets/wrangler.toml", envInterface: "SecretsEnv", bound: [] },
  { name: "auth", config: "workers/auth/wrangler.toml", envInterface: "AuthEnv", bound: [] },
  { name: "model-proxy", config: "workers/model-proxy/wrangler.toml", envInterface: "ModelProxyEnv", bound: ["secrets"] },
  // tail → gateway: batch lines run through the gateway's request path (BatchLineService).
  { name: "tail", config: "workers/tail/wrangler.toml", envInterface: "TailEnv", bound: ["model-proxy", "secrets", "gateway"] },
  // billing → tail: tenant events (budget alerts) go out through tail's webhooks (TenantEvents);
  // billing → auth: the same alerts in the audit log (BillingAudit).
  { name: "billing", config: "workers/billing/wrangler.toml", envInterface: "BillingEnv", bound: ["tail", "auth"] },
  { name: "rate-limiter", config: "workers/rate-limiter/wrangler.toml", envInterface: "RateLimiterEnv", bound: ["billing"] },
  {
    name: "gateway",
    config: "wrangler.toml",
    envInterface: "GatewayEnv",
    bound: ["auth", "tail", "billing", "model-proxy", "rate-limiter"],
    typesOut: "workers/gateway/src/env.d.ts",
  },
];

/**
 * Secrets a Worker runs without, so not in its `[secrets] required`: typed optional in its Env
 * (scripts/types.mjs), written to .dev.vars by `npm run dev` when set in its environment, and handed
 * to the Worker by `npm run deploy -- --secrets-file` when the file has them.
 */
export const OPTIONAL_SECRETS = {
  // Keys of the platform providers in PLATFORM_PROVIDERS (absent: `{}`, no platform provider needs a key).
  "model-proxy": ["PLATFORM_PROVIDER_KEYS"],
  // A token that may read GET /metrics and nothing else (absent: only the admin token reads it).
  gateway: ["METRICS_TOKEN"],
  // Stripe (payment collection): absent, billing still invoices and says collection is off.
  billing: ["STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"],
};

export const D1_DATABASES = [
  { name: "auth", config: "workers/auth/wrangler.toml" },
  { name: "billing", config: "workers/billing/wrangler.toml" },
  { name: "proxy", config: "workers/model-proxy/wrangler.toml" },
  { name: "tail", config: "workers/tail/wrangler.toml" },
];

export const byName = (name) => WORKERS.find((w) => w.name === name);
export const typesOutOf = (w) => w.typesOut ?? w.config.replace(/wrangler\.toml$/, "src/env.d.ts");
