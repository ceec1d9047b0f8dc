import { afterAll, beforeAll, describe, expect, it } from "vitest";
import CHAT_TEXT from "../fixtures/openai/chat-text.json";
import { clientFor, eventually, startCoreStack, uniqueModel } from "../fake-upstream/stack";
import type { Stack } from "../support/stack";
import { adminFetch } from "../support/tenants";

let stack: Stack;
let close: () => Promise<void>;
beforeAll(async () => {
  ({ stack, close } = await startCoreStack());
});
afterAll(() => close?.());

/** What the fake upstream reports for every chat answer (test/fixtures/openai/chat-text.json). */
const CHAT = { prompt: CHAT_TEXT.usage.prompt_tokens, completion: CHAT_TEXT.usage.completion_tokens, cached: CHAT_TEXT.usage.prompt_tokens_details.cached_tokens };
/** A price chosen so that rounding shows: $0.15 / $0.60 per 1M tokens (µ$ per 1M: 150000 / 600000). */
const RATES = { input: 150_000, output: 600_000 };
/** Billing's rule, by hand: µ$ = ceil((prompt × input + completion × output) / 1e6), per request. */
const chatMicros = Math.ceil((CHAT.prompt * RATES.input + CHAT.completion * RATES.output) / 1_000_000);
const usd = (micros: number) => `0.${String(micros).padStart(6, "0")}`;

async function pricedModel(label: string): Promise<string> {
  const model = uniqueModel(label);
  const res = await adminFetch(stack, `/admin/prices/${model}`, { method: "PUT", body: { input_per_mtok: 0.15, output_per_mtok: 0.6 } });
  expect(res.status).toBe(201);
  return model;
}

function usageFetch(apiKey: string, path: string): Promise<Response> {
  return fetch(`${stack.url}${path}`, { headers: { authorization: `Bearer ${apiKey}` } });
}

/** GET /v1/usage/requests/{id} once billing has stored the request. */
async function requestRecord(apiKey: string, requestId: string): Promise<Record<string, unknown>> {
  return eventually(async () => {
    const res = await usageFetch(apiKey, `/v1/usage/requests/${requestId}`);
    if (res.status === 404) return null;
    expect(res.status).toBe(200);
    return (await res.json()) as Record<string, unknown>;
  }, 20_000, `usage record ${requestId}`);
}

describe("cost of every answer and the request's record", () => {
  it("a non-streamed answer carries x-gateway-cost-usd and x-gateway-request-id; GET /v1/usage/requests/{id} returns the metered record", async () => {
    const { client, apiKey, key } = await clientFor(stack, { scopes: ["chat", "usage:read"] });
    const model = await pricedModel("cost-header");
    const { response } = await client.chat.completions
      .create({ model: `fake/${model}`, messages: [{ role: "user", content: "What is the capital of France?" }] }, { headers: { "x-client-request-id": "my-own-7" } })
      .withResponse();
    const requestId = response.headers.get("x-request-id")!;
    expect(requestId).toMatch(/^req_/);
    expect(response.headers.get("x-gateway-request-id")).toBe(requestId);
    expect(chatMicros).toBe(8); // 7.8 µ$ rounded up once
    expect(response.headers.get("x-gateway-cost-usd")).toBe(usd(chatMicros));

    const record = await requestRecord(apiKey, requestId);
    expect(record).toMatchObject({
      object: "usage.request",
      request_id: requestId,
      client_request_id: "my-own-7",
      api_key_id: key.id,
      operation: "chat",
      requested_model: `fake/${model}`,
      provider: "fake",
      model,
      prompt_tokens: CHAT.prompt,
      completion_tokens: CHAT.completion,
      cached_tokens: CHAT.cached,
      total_tokens: CHAT.prompt + CHAT.completion,
      cost_usd: usd(chatMicros),
      cost_usd_micros: chatMicros,
      priced: true,
      status: 200,
      stream: false,
    });
    expect(record["latency_ms"]).toEqual(expect.any(Number));
  });

  it("another tenant's request id is 404, a key without usage:read gets 403, an unknown id 404", async () => {
    const a = await clientFor(stack, { scopes: ["chat", "usage:read"] });
    const b = await clientFor(stack, { scopes: ["chat", "usage:read"] });
    const model = await pricedModel("cost-tenants");
    const { response } = await a.client.chat.completions.create({ model: `fake/${model}`, messages: [{ role: "user", content: "hi" }] }).withResponse();
    const requestId = response.headers.get("x-request-id")!;
    await requestRecord(a.apiKey, requestId); // billing has it now

    const other = await usageFetch(b.apiKey, `/v1/usage/requests/${requestId}`);
    expect(other.status).toBe(404);
    expect(await other.json()).toMatchObject({ error: { type: "invalid_request_error", code: "not_found" } });

    const noScope = await clientFor(stack, { scopes: ["chat"] });
    const denied = await usageFetch(noScope.apiKey, `/v1/usage/requests/${requestId}`);
    expect(denied.status).toBe(403);
    expect(await denied.json()).toMatchObject({ error: { code: "permission_denied" } });

    expect((await usageFetch(a.apiKey, "/v1/usage/requests/req_doesnotexist")).status).toBe(404);
    expect((await fetch(`${stack.url}/v1/usage/requests/${requestId}`)).status).toBe(401);
  });
});
