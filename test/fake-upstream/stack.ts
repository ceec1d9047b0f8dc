import { startStack, type Stack, type StackOptions } from "../support/stack";
import { startFakeUpstream, type FakeUpstream } from "./server";

/**
 * The stack (`startStack`) wired to the fake upstream as platform providers. Everything general
 * (clients, requests, stores, waiting, names) lives in test/support/.
 */

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
export async function startCoreStack(options: StackOptions = {}): Promise<{ stack: Stack; upstream: FakeUpstream; close(): Promise<void> }> {
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
    vars: {
      ...options.vars,
      "model-proxy": { PLATFORM_PROVIDERS: JSON.stringify(providers), PLATFORM_PROVIDER_KEYS: JSON.stringify(keys), ...options.vars?.["model-proxy"] },
    },
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
