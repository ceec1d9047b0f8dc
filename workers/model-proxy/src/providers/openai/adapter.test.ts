import { describe, expect, it } from "vitest";
import { ApiError } from "../../../../shared/src";
import { callContext as ctx, fetchRecorder } from "../adapter-test-utils";
import type { ProviderConfig, Target } from "../types";
import { OpenAICompatibleAdapter } from "./adapter";

const provider = (over: Partial<ProviderConfig> = {}): ProviderConfig => ({
  id: "p1",
  name: "acme",
  type: "openai",
  baseUrl: "https://api.acme.test/v1/",
  apiKey: "sk-provider-key-123456",
  headers: { "OpenAI-Organization": "org-1" },
  timeoutMs: 1000,
  models: null,
  ...over,
});

const { calls, stubFetch, sentBody, sentHeaders } = fetchRecorder();

describe("OpenAICompatibleAdapter", () => {
  it("sends the client's body with the upstream model name and the provider key", async () => {
    stubFetch(() => Response.json({ ok: 1 }));
    const target: Target = { provider: provider(), model: "gpt-4o" };
    const body = { model: "acme/gpt-4o", messages: [{ role: "user", content: "hi" }], temperature: 0.3, top_k: 5 };
    const res = await OpenAICompatibleAdapter.for("openai")!.call("chat", body, target, ctx());
    expect(await res.json()).toEqual({ ok: 1 });
    expect(calls[0]!.url).toBe("https://api.acme.test/v1/chat/completions");
    expect(sentBody()).toEqual({ ...body, model: "gpt-4o" });
    expect(sentHeaders().get("authorization")).toBe("Bearer sk-provider-key-123456");
    expect(sentHeaders().get("openai-organization")).toBe("org-1");
  });

  it("asks for stream usage when the gateway must meter a stream, keeping the client's other options", async () => {
    stubFetch(() => new Response("data: [DONE]\n\n", { headers: { "content-type": "text/event-stream" } }));
    const body = { model: "m", messages: [], stream: true, stream_options: { include_obfuscation: false } };
    await OpenAICompatibleAdapter.for("openai")!.call("chat", body, { provider: provider(), model: "m" }, ctx(true));
    expect(sentBody()["stream_options"]).toEqual({ include_obfuscation: false, include_usage: true });
  });

  it("leaves stream_options alone for vendors that reject it", async () => {
    stubFetch(() => new Response("data: [DONE]\n\n"));
    await OpenAICompatibleAdapter.for("mistral")!.call(
      "chat",
      { model: "m", messages: [], stream: true },
      { provider: provider({ type: "mistral" }), model: "m" },
      ctx(true),
    );
    expect(sentBody()["stream_options"]).toBeUndefined();
  });

  it("uses Azure's deployment path, api-version and api-key header", async () => {
    stubFetch(() => Response.json({}));
    const azure = provider({ type: "azure-openai", baseUrl: "https://res.openai.azure.com", apiVersion: "2024-06-01" });
    await OpenAICompatibleAdapter.for("azure-openai")!.call("embeddings", { model: "x", input: "a" }, { provider: azure, model: "my-deploy" }, ctx());
    expect(calls[0]!.url).toBe("https://res.openai.azure.com/openai/deployments/my-deploy/embeddings?api-version=2024-06-01");
    expect(sentHeaders().get("api-key")).toBe("sk-provider-key-123456");
    expect(sentHeaders().get("authorization")).toBeNull();
  });

  it("sends no credential header for a keyless provider", async () => {
    stubFetch(() => Response.json({}));
    await OpenAICompatibleAdapter.for("vllm")!.call("completions", { model: "m", prompt: "x" }, { provider: provider({ apiKey: "" }), model: "m" }, ctx());
    expect(sentHeaders().get("authorization")).toBeNull();
    expect(calls[0]!.url).toBe("https://api.acme.test/v1/completions");
  });

  it("throws the mapped ApiError for an upstream failure", async () => {
    stubFetch(() => Response.json({ error: { message: "bad temperature", param: "temperature" } }, { status: 400 }));
    const err = await OpenAICompatibleAdapter.for("openai")!
      .call("chat", { model: "m", messages: [] }, { provider: provider(), model: "m" }, ctx())
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).toInit()).toMatchObject({ status: 400, message: "bad temperature", param: "temperature" });
  });

  it("knows which operations each vendor serves", () => {
    expect(OpenAICompatibleAdapter.for("groq")!.supports("embeddings")).toBe(false);
    expect(OpenAICompatibleAdapter.for("openai")!.supports("completions")).toBe(true);
    expect(OpenAICompatibleAdapter.for("anthropic")).toBeNull();
  });
});
