import type { CreateEmbeddingResponse } from "openai/resources/embeddings";
import { estimateInputTokens } from "../../../../shared/src/openai";
import { readUpstreamJson, unsupportedParam } from "../chat-translation";
import type { AdapterContext, Target } from "../types";
import { bareModel, GEMINI_API, geminiHeaders, geminiUrl } from "./api";
import { fetchUpstream } from "../upstream-errors";
import { geminiHttpError } from "./errors";

/**
 * OpenAI embeddings → Gemini `batchEmbedContents` (one request per input, one upstream call).
 * - `input`: a string or strings. Token-id arrays cannot be turned back into text → 400 `input`.
 * - `dimensions` → `outputDimensionality`. `user` is dropped (no equivalent, no effect on vectors).
 * - `encoding_format: base64` (the OpenAI SDK's default) → little-endian float32 bytes, base64.
 * - Usage: Gemini reports token counts for embeddings only in newer responses (`usageMetadata`);
 *   without them the prompt tokens are estimated with the gateway's shared estimate (~4 characters
 *   per token), so the request is metered rather than free.
 */
interface BatchEmbedResponse {
  embeddings?: { values: number[] }[];
  usageMetadata?: { promptTokenCount?: number; totalTokenCount?: number };
}

export async function geminiEmbeddings(body: Record<string, unknown>, target: Target, ctx: AdapterContext): Promise<Response> {
  const { provider } = target;
  const model = bareModel(target.model);
  const inputs = textInputs(body["input"]);
  const dimensions = typeof body["dimensions"] === "number" ? body["dimensions"] : undefined;
  const request = {
    requests: inputs.map((text) => ({
      model: `models/${model}`,
      content: { parts: [{ text }] },
      ...(dimensions ? { outputDimensionality: dimensions } : {}),
    })),
  };
  const upstream = await fetchUpstream(
    geminiUrl(provider, GEMINI_API.paths.batchEmbed(model)),
    { method: "POST", headers: geminiHeaders(provider, ctx), body: JSON.stringify(request) },
    provider,
    ctx,
    geminiHttpError,
  );
  const result = await readUpstreamJson<BatchEmbedResponse>(upstream, provider.name);
  const base64 = body["encoding_format"] === "base64";
  const reported = result.usageMetadata?.promptTokenCount ?? result.usageMetadata?.totalTokenCount;
  const promptTokens = reported ?? estimateInputTokens(inputs);
  const out: CreateEmbeddingResponse = {
    object: "list",
    model,
    data: (result.embeddings ?? []).map((embedding, index) => ({
      object: "embedding",
      index,
      embedding: (base64 ? float32Base64(embedding.values) : embedding.values) as number[],
    })),
    usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
  };
  return Response.json(out);
}

function textInputs(input: unknown): string[] {
  if (typeof input === "string") return [input];
  if (Array.isArray(input) && input.every((item): item is string => typeof item === "string")) return input;
  throw unsupportedParam("input", "Google providers embed text only; token-id inputs are not supported.");
}

/** OpenAI's base64 embedding encoding: the float32 values, little-endian, base64. */
export function float32Base64(values: number[]): string {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}
