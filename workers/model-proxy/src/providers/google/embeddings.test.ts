import { describe, expect, it } from "vitest";
import batchEmbed from "../../../../../test/fixtures/google/batch-embed.json";
import { ApiError } from "../../../../shared/src";
import { callContext, fetchRecorder, geminiProvider } from "../adapter-test-utils";
import { adapterFor } from "../index";
import type { Target } from "../types";
import { float32Base64 } from "./embeddings";

const provider = geminiProvider();
const target: Target = { provider, model: "gemini-embedding-001" };
const ctx = callContext();

const { calls, stubFetch } = fetchRecorder();

describe("Gemini embeddings via batchEmbedContents", () => {
  it("sends one request per input and answers OpenAI's embedding list", async () => {
    stubFetch(() => Response.json(batchEmbed));
    const res = await adapterFor("google")!.call(
      "embeddings",
      { model: "gemini/gemini-embedding-001", input: ["hello world", "goodbye"], dimensions: 4, encoding_format: "float" },
      target,
      ctx,
    );
    expect(calls[0]!.url).toBe("https://generativelanguage.googleapis.com/v1beta/models/gemini-embedding-001:batchEmbedContents");
    expect(new Headers(calls[0]!.init.headers).get("x-goog-api-key")).toBe(provider.apiKey);
    expect(JSON.parse(String(calls[0]!.init.body))).toEqual({
      requests: [
        { model: "models/gemini-embedding-001", content: { parts: [{ text: "hello world" }] }, outputDimensionality: 4 },
        { model: "models/gemini-embedding-001", content: { parts: [{ text: "goodbye" }] }, outputDimensionality: 4 },
      ],
    });
    const body = (await res.json()) as { object: string; data: { index: number; embedding: number[] }[]; usage: { prompt_tokens: number } };
    expect(body.object).toBe("list");
    expect(body.data.map((d) => d.index)).toEqual([0, 1]);
    expect(body.data[0]!.embedding).toEqual(batchEmbed.embeddings[0]!.values);
    // Gemini reported no token counts: "hello world" + "goodbye" estimated at ~4 chars/token.
    expect(body.usage.prompt_tokens).toBe(3 + 2);
  });

  it("encodes base64 as little-endian float32, as the OpenAI SDK decodes it", async () => {
    stubFetch(() => Response.json(batchEmbed));
    const res = await adapterFor("google")!.call("embeddings", { model: "m", input: "hi", encoding_format: "base64" }, target, ctx);
    const body = (await res.json()) as { data: { embedding: string }[] };
    const bytes = Uint8Array.from(atob(body.data[0]!.embedding), (c) => c.charCodeAt(0));
    const floats = Array.from(new Float32Array(bytes.buffer));
    expect(floats.map((f) => Number(f.toFixed(4)))).toEqual(batchEmbed.embeddings[0]!.values);
    expect(float32Base64([1])).toBe("AACAPw==");
  });

  it("uses Gemini's token count when it reports one", async () => {
    stubFetch(() => Response.json({ ...batchEmbed, usageMetadata: { promptTokenCount: 11, totalTokenCount: 11 } }));
    const res = await adapterFor("google")!.call("embeddings", { model: "m", input: ["a", "b"] }, target, ctx);
    expect(((await res.json()) as { usage: unknown }).usage).toEqual({ prompt_tokens: 11, total_tokens: 11 });
  });

  it("refuses token-id input with a 400 naming input", async () => {
    stubFetch(() => Response.json(batchEmbed));
    const err = await adapterFor("google")!
      .call("embeddings", { model: "m", input: [[1, 2, 3]] }, target, ctx)
      .catch((e: unknown) => e);
    expect((err as ApiError).param).toBe("input");
    expect(calls).toHaveLength(0);
  });
});
