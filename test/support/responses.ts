import type OpenAI from "openai";
import type { Response as OpenAIResponse } from "openai/resources/responses/responses";
import { ANTHROPIC_FAKE_KEY } from "../fake-upstream/anthropic";
import { startFakeUpstream, type FakeUpstream } from "../fake-upstream/server";
import { startStack, type Stack } from "./stack";
import { d1 } from "./stores";
import { eventually } from "./wait";

/**
 * Response runs (`/v1/responses`, `/v1/agentic`) in system tests: the stack with an Anthropic-type
 * provider `claude` on the fake upstream (so every run's steps are translated, the case no anchor
 * supports), polling a response to a status with the SDK, billing's rows of a response, and the
 * parts of tail a test cannot reach through the gateway (restarting a run's Durable Object).
 */
/** The keep-alive interval of the responses test stack's streams. */
export const KEEP_ALIVE_TEST_MS = 100;

export async function startResponsesStack(): Promise<{ stack: Stack; upstream: FakeUpstream; close(): Promise<void> }> {
  const upstream = await startFakeUpstream();
  const providers = [{ name: "claude", type: "anthropic", base_url: upstream.url, timeout_ms: 20_000 }];
  const stack = await startStack({
    vars: {
      "model-proxy": { PLATFORM_PROVIDERS: JSON.stringify(providers), PLATFORM_PROVIDER_KEYS: JSON.stringify({ claude: ANTHROPIC_FAKE_KEY }) },
      // A stream idle this long gets a `: keep-alive` comment (production: 15 s), so a test holding a tool sees one at once.
      tail: { RESPONSES_KEEPALIVE_MS: String(KEEP_ALIVE_TEST_MS) },
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

/** Polls `responses.retrieve` until the response is in `status`. */
export async function responseReaching(client: OpenAI, id: string, status: OpenAIResponse["status"], timeoutMs = 30_000): Promise<OpenAIResponse> {
  return eventually(
    async () => {
      const r = await client.responses.retrieve(id);
      return r.status === status ? r : null;
    },
    timeoutMs,
    `response ${id} ${status}`,
  );
}

export interface UsageRowOfResponse {
  request_id: string;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  total_tokens: number;
}

/** Billing's usage rows of a response's model steps (tagged `response_id`), once `count` are stored. */
export async function responseUsageRows(stack: Pick<Stack, "harness">, responseId: string, count: number): Promise<UsageRowOfResponse[]> {
  const db = await d1(stack, "billing");
  return eventually(
    async () => {
      const { results } = await db
        .prepare(
          "SELECT request_id, prompt_tokens, completion_tokens, cached_tokens, total_tokens FROM usage_events WHERE json_extract(tags, '$.response_id') = ?1 ORDER BY request_id",
        )
        .bind(responseId)
        .all<UsageRowOfResponse>();
      return results.length >= count ? results : null;
    },
    20_000,
    `${count} usage rows of ${responseId}`,
  );
}

interface AgentRunStub {
  restart(): Promise<{ ok: boolean }>;
}

/** Restarts a response's Durable Object (test stack only): its memory is gone, its storage and alarm stay. */
export async function restartRun(stack: Pick<Stack, "harness">, responseId: string): Promise<void> {
  const env = (await stack.harness.getWorker("tail").getEnv()) as { AGENT_RUN: { idFromName(name: string): unknown; get(id: unknown): AgentRunStub } };
  // The object aborts itself while answering: the call rejects with that abort.
  await env.AGENT_RUN.get(env.AGENT_RUN.idFromName(responseId))
    .restart()
    .catch(() => ({ ok: true }));
}
