import type { UsageEvent } from "../contracts/usage";

/**
 * A complete, valid usage event for tests (the gateway's batcher, the pack contract, billing's
 * consumer): one definition of what such an event looks like, each test overriding what it is about.
 * Test support only: no Worker imports it.
 */
export function sampleUsageEvent(overrides: Partial<UsageEvent> = {}): UsageEvent {
  return {
    request_id: `req_${crypto.randomUUID()}`,
    tenant_id: "ten_1",
    key_id: "key_1",
    operation: "chat",
    requested_model: "gpt-4o-mini",
    provider: "openai",
    model: "gpt-4o-mini-2024-07-18",
    prompt_tokens: 10,
    completion_tokens: 5,
    cached_tokens: 0,
    reasoning_tokens: 0,
    total_tokens: 15,
    status: 200,
    stream: false,
    aborted: false,
    latency_ms: 12.5,
    started_at: 1_700_000_000_000,
    tags: {},
    ...overrides,
  };
}
