// What the bench needs in the stack, created the way an operator would: a tenant and two keys
// through the public admin API. The provider comes from the model-proxy's platform config
// (PLATFORM_PROVIDERS / PLATFORM_PROVIDER_KEYS), set when the stack starts.

/** Provider name the bench configures; requests pin it as `<provider>/<model>`. */
export const BENCH_PROVIDER = "bench-upstream";
export const BENCH_MODEL = "gpt-4o-mini";
/** The key model-proxy sends upstream (the fake upstream ignores it; it must never be the gateway key). */
const UPSTREAM_KEY = "sk-bench-upstream-key";

/**
 * model-proxy vars pointing the platform provider at the zero-delay upstream.
 * @param {string} upstream base URL of the upstream Worker
 */
export function platformProviderVars(upstream) {
  return {
    PLATFORM_PROVIDERS: JSON.stringify([{ name: BENCH_PROVIDER, type: "openai", base_url: `${upstream}/v1`, models: [BENCH_MODEL] }]),
    PLATFORM_PROVIDER_KEYS: JSON.stringify({ [BENCH_PROVIDER]: UPSTREAM_KEY }),
    // The upstream is on loopback, as under `npm run dev`.
    ALLOW_PRIVATE_UPSTREAMS: "true",
  };
}

/**
 * Limits on the rate-limited key: every axis the limiter enforces is set, so each request makes the
 * full acquire/settle round trip, and each is far above what the bench can send, so nothing is
 * ever refused (a 429 would fail the run).
 */
export const GENEROUS_LIMITS = { rpm: 1_000_000_000, tpm: 1_000_000_000_000, max_concurrency: 100_000 };
export const GENEROUS_BUDGET = { monthly_usd: 1_000_000_000 };

/**
 * @param {string} gateway base URL
 * @param {string} adminToken
 * @returns {Promise<{ tenantId: string, unlimitedKey: string, limitedKey: string, batchKey: string }>}
 */
export async function createBenchTenant(gateway, adminToken) {
  const admin = async (/** @type {string} */ path, /** @type {unknown} */ body) => {
    const res = await fetch(`${gateway}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    if (res.status !== 201) throw new Error(`POST ${path}: expected 201, got ${res.status}: ${text}`);
    return JSON.parse(text);
  };
  const tenant = await admin("/admin/tenants", { name: `bench-${Date.now()}` });
  const unlimited = await admin(`/admin/tenants/${tenant.id}/keys`, { name: "bench unlimited", scopes: ["chat"] });
  const limited = await admin(`/admin/tenants/${tenant.id}/keys`, {
    name: "bench rate-limited",
    scopes: ["chat"],
    limits: GENEROUS_LIMITS,
    budget: GENEROUS_BUDGET,
  });
  // The batch bench's key: `batch` (files and batches) and `chat` (what its lines call), no limits.
  const batch = await admin(`/admin/tenants/${tenant.id}/keys`, { name: "bench batch", scopes: ["batch", "chat"] });
  return { tenantId: tenant.id, unlimitedKey: unlimited.key, limitedKey: limited.key, batchKey: batch.key };
}
