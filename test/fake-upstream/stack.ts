import OpenAI from "openai";
import { startStack, type Stack } from "../support/stack";
import { tenantWithKey } from "../support/tenants";
import { startFakeUpstream, type FakeUpstream } from "./server";

/** The provider key the misconfigured provider sends (the fake refuses it with OpenAI's 401). */
export const WRONG_PROVIDER_KEY = "sk-wrong-provider-key-do-not-leak-42";

/**
 * The whole stack with the fake upstream configured as platform providers:
 *   fake/<any>            OpenAI-compatible, any model, generous timeout
 *   quick/<any>           same upstream, 600 ms timeout (for timeout tests)
 *   badkey/<any>          a provider whose key the upstream refuses (401)
 *   catalog/<listed>      only `catalog-chat-1` and `catalog-embed-1` (also addressable bare)
 *   compat/<any>          a vLLM server (the fake's lenient `compatUrl`: vendor extension fields accepted)
 */
export async function startCoreStack(): Promise<{ stack: Stack; upstream: FakeUpstream; close(): Promise<void> }> {
  const upstream = await startFakeUpstream();
  const providers = [
    { name: "fake", type: "openai", base_url: upstream.url, timeout_ms: 20_000 },
    { name: "quick", type: "openai", base_url: upstream.url, timeout_ms: 600 },
    { name: "badkey", type: "openai", base_url: upstream.url },
    { name: "catalog", type: "openai", base_url: upstream.url, models: ["catalog-chat-1", "catalog-embed-1"] },
    { name: "compat", type: "vllm", base_url: upstream.compatUrl, timeout_ms: 20_000 },
  ];
  const keys = { fake: upstream.apiKey, quick: upstream.apiKey, badkey: WRONG_PROVIDER_KEY, catalog: upstream.apiKey, compat: upstream.apiKey };
  const stack = await startStack({
    vars: { "model-proxy": { PLATFORM_PROVIDERS: JSON.stringify(providers), PLATFORM_PROVIDER_KEYS: JSON.stringify(keys) } },
  });
  return {
    stack,
    upstream,
    close: async () => {
      await stack.close();
      await upstream.close();
    },
  };
}

/** A new tenant's key and an OpenAI client on the gateway (no SDK retries, so each call is one request). */
export async function clientFor(stack: Stack, keyBody: Parameters<typeof tenantWithKey>[1] = {}) {
  const { apiKey, tenant, key } = await tenantWithKey(stack, keyBody);
  return { apiKey, tenant, key, client: new OpenAI({ apiKey, baseURL: `${stack.url}/v1`, maxRetries: 0 }) };
}

let n = 0;
/** A model name no other test uses (knobs and recordings are keyed by it). */
export function uniqueModel(label: string): string {
  return `${label}-${process.pid}-${++n}`;
}

/** Polls `check` until it returns a value, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | null | undefined>, timeoutMs = 15_000, what = "condition"): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== null && v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The billing D1 row of a request's usage event, once the queue consumer stored it. */
export async function usageRow(stack: Stack, requestId: string, timeoutMs = 20_000): Promise<Record<string, unknown>> {
  type Db = { prepare(sql: string): { bind(...v: unknown[]): { first<T>(): Promise<T | null> } } };
  const env = (await stack.harness.getWorker("billing").getEnv()) as { BILLING_DB: Db };
  return eventually(() => env.BILLING_DB.prepare("SELECT * FROM usage_events WHERE request_id = ?").bind(requestId).first<Record<string, unknown>>(), timeoutMs, `usage row ${requestId}`);
}
