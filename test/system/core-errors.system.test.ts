import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ERRORS } from "../fake-upstream/wire.mjs";
import { startCoreStack, WRONG_PROVIDER_KEY } from "../fake-upstream/stack";
import { uniqueModel } from "../support/names";
import { usageRow } from "../support/stores";
import type { FakeUpstream } from "../fake-upstream/server";
import { sdkFailure } from "../support/openai-sdk";
import type { Stack } from "../support/stack";
import { expectError } from "../support/errors";
import { clientFor, openaiClient } from "../support/clients";
import { gatewayFetch } from "../support/fetch";

let stack: Stack;
let upstream: FakeUpstream;
let close: () => Promise<void>;
beforeAll(async () => {
  ({ stack, upstream, close } = await startCoreStack());
});
afterAll(() => close?.());

const hi = [{ role: "user" as const, content: "hi" }];

/** A raw POST to the gateway with a valid key. */
async function post(apiKey: string, path: string, body: string, headers: Record<string, string> = { "content-type": "application/json" }) {
  return gatewayFetch(stack, path, { key: apiKey, method: "POST", rawBody: body, headers });
}

describe("bad input", () => {
  it.each([
    ["a missing model", { messages: hi }, "model", /Missing required parameter: 'model'/],
    ["missing messages", { model: "fake/x" }, "messages", /Missing required parameter: 'messages'/],
    ["messages of the wrong type", { model: "fake/x", messages: "hi" }, "messages", /Invalid type/],
    ["n out of range", { model: "fake/x", messages: hi, n: 200 }, "n", /Invalid value for 'n'/],
    ["temperature out of range", { model: "fake/x", messages: hi, temperature: 3 }, "temperature", /'temperature'/],
    [
      "an unknown content part type",
      { model: "fake/x", messages: [{ role: "user", content: [{ type: "video_url", video_url: {} }] }] },
      "messages[0].content[0].type",
      /'messages\[0\]\.content\[0\]\.type'/,
    ],
    ["an unknown role", { model: "fake/x", messages: [{ role: "robot", content: "x" }] }, "messages[0].role", /'messages\[0\]\.role'/],
    ["an unknown response_format", { model: "fake/x", messages: hi, response_format: { type: "yaml" } }, "response_format.type", /response_format/],
  ])("rejects %s with 400 BadRequestError naming the param", async (_what, body, param, message) => {
    const { client } = await clientFor(stack);
    const err = await sdkFailure(client.chat.completions.create(body as never));
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.status).toBe(400);
    expect(err.param).toBe(param);
    expect(err.type).toBe("invalid_request_error");
    expect(err.message).toMatch(message);
    expect(err.requestID).toMatch(/^req_/);
  });

  it("rejects bad embeddings and completions input the same way", async () => {
    const { client } = await clientFor(stack);
    expect((await sdkFailure(client.embeddings.create({ model: "fake/x", input: "a", encoding_format: "hex" as never }))).param).toBe("encoding_format");
    expect((await sdkFailure(client.completions.create({ model: "fake/x" } as never))).param).toBe("prompt");
  });

  it("answers malformed JSON with 400 invalid_json", async () => {
    const { apiKey } = await clientFor(stack);
    const res = await post(apiKey, "/v1/chat/completions", '{"model": "fake/x", "messages": [');
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string; type: string } }).error).toMatchObject({ code: "invalid_json", type: "invalid_request_error" });
  });

  it("answers a body that is not a JSON object with 400", async () => {
    const { apiKey } = await clientFor(stack);
    const res = await post(apiKey, "/v1/chat/completions", "[1,2]");
    await expectError(res, 400, "invalid_request");
  });

  it("answers a non-JSON content type with 415", async () => {
    const { apiKey } = await clientFor(stack);
    const res = await post(apiKey, "/v1/chat/completions", "model=fake/x", { "content-type": "application/x-www-form-urlencoded" });
    expect(res.status).toBe(415);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("unsupported_media_type");
  });

  it("answers a body over MAX_BODY_BYTES (4 MiB) with 413", async () => {
    const { client } = await clientFor(stack);
    const big = "x".repeat(4 * 1024 * 1024 + 1);
    const err = await sdkFailure(client.chat.completions.create({ model: "fake/x", messages: [{ role: "user", content: big }] }));
    expect(err.status).toBe(413);
    expect(err.code).toBe("payload_too_large");
  });

  it("refuses JSON nested deeper than 64 levels with 400 before it reaches the upstream", async () => {
    const { client } = await clientFor(stack);
    const model = uniqueModel("deep-json");
    // A tool whose parameter schema nests 70 objects: valid JSON, valid OpenAI shape, far too deep.
    let schema: Record<string, unknown> = { type: "string" };
    for (let i = 0; i < 70; i++) schema = { type: "object", properties: { a: schema } };
    const err = await sdkFailure(
      client.chat.completions.create({ model: `fake/${model}`, messages: hi, tools: [{ type: "function", function: { name: "f", parameters: schema } }] }),
    );
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err).toMatchObject({ status: 400, type: "invalid_request_error", code: "invalid_request" });
    expect(err.message).toMatch(/deeper than 64 levels/);
    expect(upstream.requests(model)).toHaveLength(0);
  });

  it("bounds management bodies like inference ones: 413 over MAX_BODY_BYTES, 400 nested deeper than 64", async () => {
    const { apiKey } = await clientFor(stack, { scopes: ["chat", "keys:write"] });
    const big = await post(apiKey, "/v1/keys", JSON.stringify({ name: "x".repeat(4 * 1024 * 1024 + 1) }));
    expect(big.status).toBe(413);
    expect(((await big.json()) as { error: { code: string } }).error.code).toBe("payload_too_large");

    const deep = await gatewayFetch(stack, "/admin/tenants", {
      admin: true,
      rawBody: `{"name":"deep","x":${"[".repeat(100)}${"]".repeat(100)}}`,
      headers: { "content-type": "application/json" },
    });
    expect(deep.status).toBe(400);
    expect(((await deep.json()) as { error: { code: string; message: string } }).error).toMatchObject({
      code: "invalid_request",
      message: expect.stringMatching(/deeper than 64 levels/),
    });
  });

  it("answers an unknown model with 404 NotFoundError (param model)", async () => {
    const { client } = await clientFor(stack);
    for (const model of ["no-such-model", "nobody/gpt-4o", "catalog/not-listed"]) {
      const err = await sdkFailure(client.chat.completions.create({ model, messages: hi }));
      expect(err).toBeInstanceOf(OpenAI.NotFoundError);
      expect(err).toMatchObject({ code: "model_not_found", param: "model" });
    }
    // A provider's `models` is an allow-list: the 404 names what that provider serves.
    const err = await sdkFailure(client.chat.completions.create({ model: "catalog/not-listed", messages: hi }));
    expect(err.status).toBe(404);
    expect(err.error).toMatchObject({
      code: "model_not_found",
      param: "model",
      message:
        "The model 'catalog/not-listed' does not exist or you do not have access to it: provider 'catalog' serves only: 'catalog-chat-1', 'catalog-embed-1'.",
    });
  });

  it("answers a model the key may not use with 403 PermissionDeniedError", async () => {
    const { client } = await clientFor(stack, { models: ["catalog/*"] });
    const err = await sdkFailure(client.chat.completions.create({ model: "fake/x", messages: hi }));
    expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(err).toMatchObject({ code: "model_not_allowed", param: "model" });
  });

  it("answers a missing or wrong API key with 401 AuthenticationError", async () => {
    const bad = openaiClient(stack, "sk-not-a-real-key");
    expect(await sdkFailure(bad.chat.completions.create({ model: "fake/x", messages: hi }))).toBeInstanceOf(OpenAI.AuthenticationError);
    const res = await gatewayFetch(stack, "/v1/models");
    expect(res.status).toBe(401);
  });
});

describe("upstream failures", () => {
  it("keeps an upstream 400 a 400 with the upstream's message and param", async () => {
    const { client } = await clientFor(stack);
    const model = uniqueModel("up-400");
    upstream.on(model, { error: { status: 400 } });
    const err = await sdkFailure(client.chat.completions.create({ model: `fake/${model}`, messages: hi }));
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.message).toContain(ERRORS["400"].error.message);
    expect(err.param).toBe("temperature");
  });

  it("keeps an upstream 422 a 422 (UnprocessableEntityError)", async () => {
    const { client } = await clientFor(stack);
    const model = uniqueModel("up-422");
    upstream.on(model, {
      error: { status: 422, body: { object: "error", message: "max_tokens must be at least 1, got 0.", type: "BadRequestError", param: null, code: 422 } },
    });
    const err = await sdkFailure(client.chat.completions.create({ model: `fake/${model}`, messages: hi }));
    expect(err).toBeInstanceOf(OpenAI.UnprocessableEntityError);
    expect(err.message).toContain("max_tokens must be at least 1");
  });

  it("turns the provider refusing the gateway's key into a 502 naming a credential problem, never the key", async () => {
    const { client, apiKey } = await clientFor(stack);
    const model = uniqueModel("up-401");
    const err = await sdkFailure(client.chat.completions.create({ model: `badkey/${model}`, messages: hi }));
    expect(err).toBeInstanceOf(OpenAI.InternalServerError);
    expect(err.status).toBe(502);
    expect(err.code).toBe("upstream_auth_error");
    expect(err.message).toMatch(/badkey/);
    expect(err.message).toMatch(/credential|API key/i);
    const headers: Record<string, string> = {};
    err.headers?.forEach((value, name) => (headers[name] = value));
    const everything = JSON.stringify({ message: err.message, error: err.error, headers });
    expect(everything).not.toContain(WRONG_PROVIDER_KEY);
    expect(everything).not.toContain(WRONG_PROVIDER_KEY.slice(-8));
    expect(everything).not.toContain(apiKey);
    expect(err.headers?.get("x-should-retry")).toBe("false");
    expect(upstream.requests(model)[0]!.headers["authorization"]).toBe(`Bearer ${WRONG_PROVIDER_KEY}`);
  });

  it("relays an upstream 429 as 429 RateLimitError with retry-after", async () => {
    const { client } = await clientFor(stack);
    const model = uniqueModel("up-429");
    upstream.on(model, { error: { status: 429, headers: { "retry-after": "7" } } });
    const err = await sdkFailure(client.chat.completions.create({ model: `fake/${model}`, messages: hi }));
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect(err.headers?.get("retry-after")).toBe("7");
    expect(err.message).toContain("Rate limit reached");
  });

  it("derives retry-after from OpenAI's reset headers when the upstream sent none", async () => {
    const { client } = await clientFor(stack);
    const model = uniqueModel("up-429-reset");
    upstream.on(model, { error: { status: 429, headers: { "x-ratelimit-reset-requests": "20s" } } });
    const err = await sdkFailure(client.chat.completions.create({ model: `fake/${model}`, messages: hi }));
    expect(err.headers?.get("retry-after")).toBe("20");
  });

  it.each([500, 503])("turns an upstream %i into 502 (InternalServerError) naming the provider", async (status) => {
    const { client } = await clientFor(stack);
    const model = uniqueModel(`up-${status}`);
    upstream.on(model, { error: { status } });
    const err = await sdkFailure(client.chat.completions.create({ model: `fake/${model}`, messages: hi }));
    expect(err).toBeInstanceOf(OpenAI.InternalServerError);
    expect(err.status).toBe(502);
    expect(err.message).toMatch(/Provider 'fake'/);
  });

  it("turns an upstream that does not answer in time into 504", async () => {
    const { client } = await clientFor(stack);
    const model = uniqueModel("up-hang");
    upstream.on(model, { hang: true });
    const err = await sdkFailure(client.chat.completions.create({ model: `quick/${model}`, messages: hi }));
    expect(err).toBeInstanceOf(OpenAI.InternalServerError);
    expect(err.status).toBe(504);
    expect(err.code).toBe("upstream_timeout");
  });

  it.each([
    ["chunked", false],
    ["with a declared content-length", true],
  ])("turns a non-streamed answer above 32 MiB (%s) into a 502", async (_how, declareLength) => {
    const { client } = await clientFor(stack);
    const model = uniqueModel("up-huge");
    upstream.on(model, { hugeJson: { bytes: 64 * 1024 * 1024, declareLength } });
    const err = await sdkFailure(client.chat.completions.create({ model: `fake/${model}`, messages: hi }));
    expect(err).toBeInstanceOf(OpenAI.InternalServerError);
    expect(err).toMatchObject({ status: 502, code: "upstream_error" });
    expect(err.message).toMatch(/provider 'fake' is larger than 33554432 bytes/);
  });

  it("meters failed upstream calls with their status", async () => {
    const { client } = await clientFor(stack);
    const model = uniqueModel("up-metered");
    upstream.on(model, { error: { status: 500 } });
    const err = await sdkFailure(client.chat.completions.create({ model: `fake/${model}`, messages: hi }));
    const row = await usageRow(stack, err.requestID!);
    expect(row).toMatchObject({ status: 502, provider: "fake", prompt_tokens: 0, completion_tokens: 0 });
  });
});
