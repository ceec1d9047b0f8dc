import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ANTHROPIC_FAKE_KEY } from "../fake-upstream/anthropic";
import { startFakeUpstream, type FakeUpstream } from "../fake-upstream/server";
import { uniqueModel } from "../support/names";
import { d1, usageRow } from "../support/stores";
import { createProvider, createRoute, providerTenant } from "../support/providers";
import { startStack, type Stack } from "../support/stack";
import { anthropicClient } from "../support/clients";

/**
 * Issue 16, point 10: fields that make an upstream bill more than tokens are refused with 400 on
 * the platform's providers (the platform pays the upstream and meters tokens only), and pass on a
 * tenant's own provider (the upstream bills the tenant). Attempts the gateway gave up on after
 * sending them are billed by the upstream, so they are metered too.
 */

let stack: Stack;
let upstream: FakeUpstream;
let tenant: Awaited<ReturnType<typeof providerTenant>>;
/** The tenant's own OpenAI provider on the same fake upstream. */
const MINE = "mine";
beforeAll(async () => {
  upstream = await startFakeUpstream();
  const providers = [
    { name: "oai", type: "openai", base_url: upstream.url, timeout_ms: 20_000 },
    { name: "claude", type: "anthropic", base_url: upstream.url, timeout_ms: 20_000 },
  ];
  const keys = { oai: upstream.apiKey, claude: ANTHROPIC_FAKE_KEY };
  stack = await startStack({ vars: { "model-proxy": { PLATFORM_PROVIDERS: JSON.stringify(providers), PLATFORM_PROVIDER_KEYS: JSON.stringify(keys) } } });
  tenant = await providerTenant(stack);
  await createProvider(stack, tenant.caller, { name: MINE, type: "openai", base_url: upstream.url, api_key: upstream.apiKey });
});
afterAll(async () => {
  await stack?.close();
  await upstream?.close();
});

const chat = (model: string, extra: Record<string, unknown>) =>
  tenant.client.chat.completions
    .create({ model, messages: [{ role: "user", content: "hi" }], ...extra } as OpenAI.ChatCompletionCreateParamsNonStreaming)
    .withResponse();

describe("upstream-billed extras on OpenAI's wire", () => {
  it.each([
    ["service_tier", { service_tier: "priority" }],
    ["service_tier", { service_tier: "flex" }],
    ["web_search_options", { web_search_options: { search_context_size: "low" } }],
    ["store", { store: true }],
  ])("a platform provider refuses %s (%o) with 400 naming it, and the upstream is never called", async (param, extra) => {
    const model = uniqueModel("platform-extra");
    const err = (await chat(`oai/${model}`, extra).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.BadRequestError>;
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.error).toMatchObject({
      type: "invalid_request_error",
      param,
      code: "invalid_request",
      message: expect.stringContaining("platform's providers"),
    });
    expect(upstream.requests(model)).toHaveLength(0);
  });

  it("the standard tier and store: false reach a platform provider unchanged", async () => {
    const model = uniqueModel("platform-standard");
    const { data } = await chat(`oai/${model}`, { service_tier: "auto", store: false });
    expect(data.choices[0]!.message.content).toBeTruthy();
    expect(upstream.requests(model)[0]!.body).toMatchObject({ service_tier: "auto", store: false });
  });

  it("a tenant's own provider takes them all: its upstream bills the tenant", async () => {
    const model = uniqueModel("byok-extra");
    const extra = { service_tier: "priority", web_search_options: { search_context_size: "low" }, store: true };
    const { data, response } = await chat(`${MINE}/${model}`, extra);
    expect(data.choices[0]!.message.content).toBeTruthy();
    expect(response.headers.get("x-gateway-provider")).toBe(MINE);
    expect(upstream.requests(model)[0]!.body).toMatchObject(extra);
  });

  it("a route over a platform and a tenant provider sends such a request to the tenant's only", async () => {
    const shared = uniqueModel("route-platform");
    const own = uniqueModel("route-own");
    const route = await createRoute(stack, tenant.caller, {
      name: uniqueModel("mixed"),
      strategy: "fallback",
      targets: [
        { provider: "oai", model: shared },
        { provider: MINE, model: own },
      ],
    });
    const { response } = await chat(route.name, { service_tier: "priority" });
    expect(response.headers.get("x-gateway-provider")).toBe(MINE);
    expect(response.headers.get("x-gateway-attempts")).toBe("1");
    expect(upstream.requests(shared)).toHaveLength(0);
    expect(upstream.requests(own)[0]!.body).toMatchObject({ service_tier: "priority" });
  });
});

describe("upstream-billed extras on Anthropic's wire (/v1/messages)", () => {
  const anthropic = () => anthropicClient(stack, tenant.caller.token);

  it.each([
    [
      "tools[1].type",
      {
        tools: [
          { name: "lookup", input_schema: { type: "object" } },
          { type: "web_search_20250305", name: "web_search", max_uses: 3 },
        ],
      },
    ],
    ["tools[0].type", { tools: [{ type: "code_execution_20250825", name: "code_execution" }] }],
    ["tools[0].type", { tools: [{ type: "web_fetch_20250910", name: "web_fetch" }] }],
    ["speed", { speed: "fast" }],
    ["inference_geo", { inference_geo: "us" }],
  ])("a platform Anthropic provider refuses %s with a BadRequestError naming it", async (param, extra) => {
    const model = uniqueModel("claude-extra");
    const err = (await anthropic()
      .messages.create({
        model: `claude/${model}`,
        max_tokens: 64,
        messages: [{ role: "user", content: "hi" }],
        ...extra,
      } as Anthropic.MessageCreateParamsNonStreaming)
      .catch((e: unknown) => e)) as InstanceType<typeof Anthropic.BadRequestError>;
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect(err.error).toMatchObject({ type: "error", error: { type: "invalid_request_error", message: expect.stringContaining(`'${param}'`) } });
    expect(upstream.requests(model)).toHaveLength(0);
  });

  it("a tenant's own Anthropic provider passes server tools through", async () => {
    await createProvider(stack, tenant.caller, { name: "my-claude", type: "anthropic", base_url: upstream.url, api_key: ANTHROPIC_FAKE_KEY });
    const model = uniqueModel("byok-claude");
    const tools = [{ type: "web_search_20250305", name: "web_search", max_uses: 3 }];
    const { response } = await anthropic()
      .messages.create({
        model: `my-claude/${model}`,
        max_tokens: 64,
        messages: [{ role: "user", content: "hi" }],
        tools,
      } as Anthropic.MessageCreateParamsNonStreaming)
      .withResponse();
    expect(response.headers.get("x-gateway-provider")).toBe("my-claude");
    expect(upstream.requests(model)[0]!.body).toMatchObject({ tools });
  });
});

describe("failed attempts the upstream bills", () => {
  /** A route whose first target gets `behaviour` and whose second answers; 300 ms per attempt. */
  async function twoTargets(label: string, behaviour: Parameters<FakeUpstream["on"]>[1]) {
    const first = uniqueModel(`${label}-first`);
    const second = uniqueModel(`${label}-second`);
    upstream.on(first, behaviour);
    const route = await createRoute(stack, tenant.caller, {
      name: uniqueModel(label),
      strategy: "fallback",
      retries: 0,
      timeout_ms: 300,
      targets: [
        { provider: "oai", model: first },
        { provider: "oai", model: second },
      ],
    });
    const { response } = await chat(route.name, {});
    return { first, second, requestId: response.headers.get("x-request-id")!, response };
  }

  it("an attempt abandoned by the gateway's timeout after it was sent is metered on its own, against its provider and model", async () => {
    const { first, second, requestId, response } = await twoTargets("abandoned", { hang: true });
    expect(response.headers.get("x-gateway-attempts")).toBe("2");
    expect(response.headers.has("x-gateway-abandoned-attempts")).toBe(false);
    expect(upstream.requests(first)).toHaveLength(1);

    const served = await usageRow(stack, requestId);
    expect(served).toMatchObject({ provider: "oai", model: second, status: 200 });
    const abandoned = await usageRow(stack, `${requestId}.attempt1`);
    expect(abandoned).toMatchObject({ tenant_id: tenant.tenant.id, provider: "oai", model: first, status: 504, completion_tokens: 0, upstream_error: 1 });
    expect(abandoned["prompt_tokens"]).toBeGreaterThan(0);
    expect(JSON.parse(String(abandoned["tags"]))).toMatchObject({ attempt: "abandoned" });
  });

  it("an attempt the upstream answered with an error is not billed, and not metered", async () => {
    const { requestId } = await twoTargets("refused", { error: { status: 500 } });
    await usageRow(stack, requestId);
    // Both events of a request leave in the same pack, so the served one's row means the other's would be there.
    expect(await usageRows(`${requestId}.%`)).toEqual([]);
  });
});

async function usageRows(pattern: string): Promise<unknown[]> {
  return (await (await d1(stack, "billing")).prepare("SELECT request_id FROM usage_events WHERE request_id LIKE ?").bind(pattern).all()).results;
}
