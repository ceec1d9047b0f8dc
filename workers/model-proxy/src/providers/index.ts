import { AnthropicAdapter } from "./anthropic/adapter";
import { withMessages } from "./anthropic/messages-bridge";
import { GoogleAdapter } from "./google/adapter";
import { OpenAICompatibleAdapter } from "./openai/adapter";
import type { ProviderAdapter, ProviderType } from "./types";

/**
 * Which adapter speaks to which provider type. OpenAI-compatible types share one adapter with a
 * wire preset each; translating adapters (Anthropic, Google) register here by type.
 *
 * Adapters are stateless and built once per isolate.
 */
const TRANSLATING: Partial<Record<ProviderType, ProviderAdapter>> = {
  anthropic: new AnthropicAdapter(),
  google: new GoogleAdapter(),
};

const cache = new Map<ProviderType, ProviderAdapter | null>();

export function adapterFor(type: ProviderType): ProviderAdapter | null {
  let adapter = cache.get(type);
  if (adapter === undefined) {
    const base = TRANSLATING[type] ?? OpenAICompatibleAdapter.for(type);
    // Every adapter also serves Anthropic's Messages API: natively or by translation.
    adapter = base ? withMessages(base) : null;
    cache.set(type, adapter);
  }
  return adapter;
}
