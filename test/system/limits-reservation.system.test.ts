import OpenAI, { RateLimitError } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FakeUpstream } from "../fake-upstream/server";
import { startCoreStack } from "../fake-upstream/stack";
import { uniqueModel } from "../support/names";
import { usageRow } from "../support/stores";
import { sdkFailure } from "../support/openai-sdk";
import { createRoute } from "../support/providers";
import type { Stack } from "../support/stack";
import { afterPriceChange } from "../support/propagation";
import { adminFetch, createKey } from "../support/tenants";
import { clientFor, openaiClient } from "../support/clients";
import { gatewayFetch } from "../support/fetch";

/**
 * A reservation is an upper bound (issue #16, point 4): whatever a limited key sends — no
 * `max_tokens`, the legacy completions route, non-Latin text, images, an alias over dearer models,
 * a model without a price, an absurd `max_tokens` — what the limiter reserves is at least what the
 * upstream can be made to produce, or the request is refused with a clear error.
 *
 * Expected numbers are worked out from the documented rules (workers/shared/src/openai/estimate.ts,
 * model-output.ts), not by calling the estimator: 4 framing tokens per message, 4 ASCII characters
 * per token, one token per UTF-8 byte of other characters.
 */
let stack: Stack;
let upstream: FakeUpstream;
let close: () => Promise<void>;
beforeAll(async () => {
  ({ stack, upstream, close } = await startCoreStack());
});
afterAll(() => close?.());

/** 30 ASCII characters: 4 + ceil(30 / 4) = 12 prompt tokens. */
const QUESTION = "What is the capital of France?";
const QUESTION_TOKENS = 12;

/** Sets a price in USD per million tokens (input and output alike), and lets it reach every gateway isolate. */
async function price(model: string, usdPerMtok: number): Promise<void> {
  const res = await adminFetch(stack, `/admin/prices/${model}`, { method: "PUT", body: { input_per_mtok: usdPerMtok, output_per_mtok: usdPerMtok } });
  expect(res.status).toBeLessThan(300);
  await afterPriceChange(stack);
}

describe("a request without max_tokens", () => {
  it("is sent upstream with the default cap for a budgeted key (the reservation holds), and as is for an unlimited key", async () => {
    const model = uniqueModel("nomax");
    await price(model, 1);
    const limited = await clientFor(stack, { budget: { monthly_usd: 10 } });
    const unlimited = await clientFor(stack);

    await limited.client.chat.completions.create({ model: `fake/${model}`, messages: [{ role: "user", content: QUESTION }] });
    await unlimited.client.chat.completions.create({ model: `fake/${model}`, messages: [{ role: "user", content: QUESTION }] });

    const [fromLimited, fromUnlimited] = upstream.requests(model);
    // `fake` is an OpenAI provider: the field its reasoning models accept.
    expect(fromLimited!.body).toMatchObject({ max_completion_tokens: 4096 });
    expect(fromLimited!.body).not.toHaveProperty("max_tokens");
    expect(fromUnlimited!.body).not.toHaveProperty("max_completion_tokens");
    expect(fromUnlimited!.body).not.toHaveProperty("max_tokens");
  });

  it("to a model with a documented maximum output reserves that maximum, leaving the request unchanged", async () => {
    // gpt-4o (any dated version) documents 16 384 output tokens.
    const model = "gpt-4o-2024-08-06";
    await price("gpt-4o", 100); // 100 µ$ per token
    // Worst case (12 + 16 384) × 100 µ$ = $1.6396: above a $1 budget, which the 4 096 default would fit.
    const { client, key } = await clientFor(stack, { budget: { monthly_usd: 1 } });

    const err = await sdkFailure(client.chat.completions.create({ model: `fake/${model}`, messages: [{ role: "user", content: QUESTION }] }));
    expect(err).toBeInstanceOf(RateLimitError);
    expect(err.code).toBe("insufficient_quota");
    expect(err.message).toContain(`monthly budget of API key ${key.id}`);
    // (12 + 16 384) × 100 µ$ = 1 639 600 µ$.
    expect(err.message).toContain("this request may cost up to $1.6396.");
    expect(upstream.requests(model)).toHaveLength(0);

    // With room for the worst case it is served, without any maximum added.
    const roomy = await clientFor(stack, { budget: { monthly_usd: 2 } });
    await roomy.client.chat.completions.create({ model: `fake/${model}`, messages: [{ role: "user", content: QUESTION }] });
    expect(upstream.requests(model)[0]!.body).not.toHaveProperty("max_completion_tokens");
    expect(upstream.requests(model)[0]!.body).not.toHaveProperty("max_tokens");
  });

  it("on /v1/completions is sent upstream with OpenAI's documented default of 16 for a limited key", async () => {
    const model = uniqueModel("legacy");
    const { client } = await clientFor(stack, { limits: { tpm: 100_000 } });
    await client.completions.create({ model: `fake/${model}`, prompt: "Say hello" });
    expect(upstream.requests(model)[0]!.body).toMatchObject({ max_tokens: 16 });
  });
});

describe("prompt estimates", () => {
  it("count non-Latin text by its UTF-8 bytes", async () => {
    const model = uniqueModel("cjk");
    const { client, key } = await clientFor(stack, { limits: { tpm: 1_000 } });
    // 1 500 CJK characters = 4 500 UTF-8 bytes: 4 + 4 500 prompt tokens, + 10 completion.
    const err = await sdkFailure(
      client.chat.completions.create({ model: `fake/${model}`, messages: [{ role: "user", content: "日本語".repeat(500) }], max_tokens: 10 }),
    );
    expect(err).toBeInstanceOf(RateLimitError);
    expect((err.error as { message: string }).message).toBe(
      `Request too large for tokens per minute (TPM) on API key ${key.id}: Limit 1000, Requested 4514. Reduce the prompt or max_tokens.`,
    );
    expect(upstream.requests(model)).toHaveLength(0);
  });

  it("count an inline image by its size", async () => {
    const model = uniqueModel("image");
    const { client, key } = await clientFor(stack, { limits: { tpm: 5_000 } });
    // A 40 022-character data URL: ceil(40 022 / 4) = 10 006 tokens, + 4 framing + 10 completion.
    const url = `data:image/png;base64,${"A".repeat(40_000)}`;
    const err = await sdkFailure(
      client.chat.completions.create({
        model: `fake/${model}`,
        messages: [{ role: "user", content: [{ type: "image_url", image_url: { url } }] }],
        max_tokens: 10,
      }),
    );
    expect(err).toBeInstanceOf(RateLimitError);
    expect(err.message).toContain(`on API key ${key.id}: Limit 5000, Requested 10020.`);
    expect(upstream.requests(model)).toHaveLength(0);
  });
});

describe("prices", () => {
  it("reserve an alias at its most expensive target, not at its own name's price", async () => {
    const cheap = uniqueModel("cheap");
    const dear = uniqueModel("dear");
    const alias = uniqueModel("alias");
    await price(alias, 1);
    await price(cheap, 1);
    await price(dear, 100);
    // (12 + 100) × 100 µ$ = 11 200 µ$ at the dear target (112 µ$ at the alias's own price).
    const { client, apiKey, key } = await clientFor(stack, { scopes: ["chat", "providers:read", "providers:write"], budget: { monthly_usd: 0.005 } });
    await createRoute(
      stack,
      { token: apiKey },
      {
        name: alias,
        strategy: "fallback",
        targets: [
          { provider: "fake", model: cheap },
          { provider: "fake", model: dear },
        ],
      },
    );

    const err = await sdkFailure(client.chat.completions.create({ model: alias, messages: [{ role: "user", content: QUESTION }], max_tokens: 100 }));
    expect(err).toBeInstanceOf(RateLimitError);
    expect(err.code).toBe("insufficient_quota");
    expect(err.message).toContain(`API key ${key.id}: budget $0.005, spent or reserved $0.00, this request may cost up to $0.0112.`);
    expect(upstream.requests(cheap)).toHaveLength(0);
  });

  it("reserve an alias only at the targets the key may use", async () => {
    const cheap = uniqueModel("cheap");
    const dear = uniqueModel("dear");
    const alias = uniqueModel("alias");
    await price(cheap, 1);
    await price(dear, 100);
    const { apiKey, tenant } = await clientFor(stack, { scopes: ["chat", "providers:read", "providers:write"] });
    await createRoute(
      stack,
      { token: apiKey },
      {
        name: alias,
        strategy: "fallback",
        targets: [
          { provider: "fake", model: dear },
          { provider: "fake", model: cheap },
        ],
      },
    );
    // The key may not use the dear target, so it can only be served by the cheap one: (12 + 100) × 1 µ$.
    const key = await createKey(stack, tenant.id, { scopes: ["chat"], models: [alias, `fake/${cheap}`], budget: { monthly_usd: 0.005 } });
    const client = openaiClient(stack, key.key);

    const { response } = await client.chat.completions
      .create({ model: alias, messages: [{ role: "user", content: QUESTION }], max_tokens: 100 })
      .withResponse();
    expect(response.headers.get("x-gateway-model")).toBe(cheap);
    expect(upstream.requests(dear)).toHaveLength(0);
  });

  it("refuse a model without a price to a budgeted key, and bill it at the '*' default once there is one", async () => {
    const model = uniqueModel("unpriced");
    const { client } = await clientFor(stack, { budget: { monthly_usd: 10 } });
    const ask = () => client.chat.completions.create({ model: `fake/${model}`, messages: [{ role: "user", content: QUESTION }], max_tokens: 10 });

    const err = await sdkFailure(ask());
    expect(err.status).toBe(403);
    expect(err.error).toEqual({
      message: `The model 'fake/${model}' has no price, so its cost cannot be counted against this key's budget. Use a priced model, or ask the operator to set its price (or a '*' default price).`,
      type: "permission_error",
      param: "model",
      code: "model_not_priced",
    });
    expect(upstream.requests(model)).toHaveLength(0);

    await price("*", 1);
    try {
      const { response } = await ask().withResponse();
      expect(upstream.requests(model)).toHaveLength(1);
      // The fake reports 24 prompt + 7 completion tokens: 31 tokens at $1 per million = 31 µ$.
      expect(await usageRow(stack, response.headers.get("x-request-id")!)).toMatchObject({ cost_usd_micros: 31, priced: 1 });
    } finally {
      expect((await adminFetch(stack, "/admin/prices/*", { method: "DELETE" })).status).toBeLessThan(300);
      // Later tests expect unpriced models to be refused: every isolate must have dropped the default.
      await afterPriceChange(stack);
    }
  });
});

describe("max_tokens", () => {
  it.each([
    ["/v1/chat/completions", "max_tokens", { messages: [{ role: "user", content: "hi" }], max_tokens: Number.MAX_SAFE_INTEGER }],
    ["/v1/chat/completions", "max_completion_tokens", { messages: [{ role: "user", content: "hi" }], max_completion_tokens: 1_000_001 }],
    ["/v1/completions", "max_tokens", { prompt: "hi", max_tokens: Number.MAX_SAFE_INTEGER }],
  ])("above 1 000 000 is a 400 naming the field on %s (%s), for a budgeted key", async (path, param, body) => {
    const model = uniqueModel("huge");
    await price(model, 1);
    const { apiKey } = await clientFor(stack, { budget: { monthly_usd: 10 } });
    const res = await gatewayFetch(stack, path, { key: apiKey, body: { model: `fake/${model}`, ...body } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: unknown }).error).toMatchObject({ type: "invalid_request_error", param });
    expect(upstream.requests(model)).toHaveLength(0);
  });

  it("above 1 000 000 is a 400 on /v1/messages, in Anthropic's error shape", async () => {
    const model = uniqueModel("huge-messages");
    await price(model, 1);
    const { apiKey } = await clientFor(stack, { budget: { monthly_usd: 10 } });
    const res = await gatewayFetch(stack, "/v1/messages", {
      headers: { "x-api-key": apiKey, "anthropic-version": "2023-06-01" },
      body: { model: `fake/${model}`, messages: [{ role: "user", content: "hi" }], max_tokens: Number.MAX_SAFE_INTEGER },
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { type: string; error: { type: string; message: string } };
    expect(body).toMatchObject({ type: "error", error: { type: "invalid_request_error" } });
    expect(body.error.message).toContain("max_tokens");
    expect(upstream.requests(model)).toHaveLength(0);
  });

  it("at the bound is accepted through the SDK", async () => {
    const model = uniqueModel("bound");
    await price(model, 1);
    const { client } = await clientFor(stack, { budget: { monthly_usd: 10 } });
    const completion = await client.chat.completions.create({ model: `fake/${model}`, messages: [{ role: "user", content: "hi" }], max_tokens: 1_000_000 });
    expect(completion.choices[0]!.message.content).toBeTruthy();
    expect(upstream.requests(model)[0]!.body).toMatchObject({ max_tokens: 1_000_000 });
  });
});
