import type { ProviderConfig } from "../types";

/**
 * Google's Gemini API (Generative Language API, `v1beta`) as the adapter calls it: where, with
 * which headers, and the wire types it reads back. Auth is an API key in `x-goog-api-key` — a
 * header rather than the `?key=` query parameter, so the key never appears in a URL or a log line.
 */
export const GEMINI_API = {
  defaultBaseUrl: "https://generativelanguage.googleapis.com/v1beta",
  paths: {
    generate: (model: string) => `/models/${encodeURIComponent(model)}:generateContent`,
    stream: (model: string) => `/models/${encodeURIComponent(model)}:streamGenerateContent?alt=sse`,
    batchEmbed: (model: string) => `/models/${encodeURIComponent(model)}:batchEmbedContents`,
  },
} as const;

/** `models/gemini-2.0-flash` and `gemini-2.0-flash` both name the model; URLs want the bare id. */
export function bareModel(model: string): string {
  return model.startsWith("models/") ? model.slice("models/".length) : model;
}

/**
 * The API root for a provider: the configured base (the providers preset is `…/v1beta`); an origin
 * without a version (`https://generativelanguage.googleapis.com`, a local fake) gets `/v1beta`.
 */
export function geminiBase(provider: ProviderConfig): string {
  const base = (provider.baseUrl || GEMINI_API.defaultBaseUrl).replace(/\/+$/, "");
  return /\/v1(beta|alpha)?\d*$/.test(base) ? base : `${base}/v1beta`;
}

export function geminiUrl(provider: ProviderConfig, path: string): string {
  return `${geminiBase(provider)}${path}`;
}

export function geminiHeaders(provider: ProviderConfig, ctx: { requestId: string }): Headers {
  const headers = new Headers(provider.headers);
  headers.set("x-goog-api-key", provider.apiKey);
  headers.delete("authorization");
  headers.set("content-type", "application/json");
  headers.set("x-request-id", ctx.requestId);
  return headers;
}

// ---- wire types --------------------------------------------------------------------------------

export interface GeminiPart {
  text?: string;
  /** A thought summary part (thinking models with `includeThoughts`). */
  thought?: boolean;
  thoughtSignature?: string;
  inlineData?: { mimeType: string; data: string };
  fileData?: { mimeType: string; fileUri: string };
  functionCall?: { name: string; args?: Record<string, unknown>; id?: string };
  functionResponse?: { name: string; response: Record<string, unknown>; id?: string };
}

export interface GeminiContent {
  role?: "user" | "model";
  parts: GeminiPart[];
}

export type GeminiFinishReason =
  | "FINISH_REASON_UNSPECIFIED"
  | "STOP"
  | "MAX_TOKENS"
  | "SAFETY"
  | "RECITATION"
  | "LANGUAGE"
  | "OTHER"
  | "BLOCKLIST"
  | "PROHIBITED_CONTENT"
  | "SPII"
  | "MALFORMED_FUNCTION_CALL"
  | "IMAGE_SAFETY"
  | "UNEXPECTED_TOOL_CALL"
  | "TOO_MANY_TOOL_CALLS"
  | (string & {});

export interface GeminiCandidate {
  content?: GeminiContent;
  finishReason?: GeminiFinishReason;
  index?: number;
  safetyRatings?: unknown[];
  finishMessage?: string;
}

/** Gemini's `usageMetadata`: one definition, beside the normaliser that reads it. */
export type { GeminiUsage } from "../../../../shared/src/token-usage";
import type { GeminiUsage } from "../../../../shared/src/token-usage";

export interface GeminiResponse {
  candidates?: GeminiCandidate[];
  promptFeedback?: { blockReason?: string; safetyRatings?: unknown[] };
  usageMetadata?: GeminiUsage;
  modelVersion?: string;
  responseId?: string;
}

export interface GeminiErrorBody {
  error: { code: number; message: string; status: string; details?: { "@type": string; [key: string]: unknown }[] };
}

export interface GeminiRequest {
  contents: GeminiContent[];
  systemInstruction?: { parts: GeminiPart[] };
  tools?: { functionDeclarations: { name: string; description?: string; parametersJsonSchema?: unknown }[] }[];
  toolConfig?: { functionCallingConfig: { mode: "AUTO" | "ANY" | "NONE"; allowedFunctionNames?: string[] } };
  generationConfig?: {
    temperature?: number;
    topP?: number;
    candidateCount?: number;
    maxOutputTokens?: number;
    stopSequences?: string[];
    presencePenalty?: number;
    frequencyPenalty?: number;
    seed?: number;
    responseMimeType?: string;
    responseJsonSchema?: unknown;
    thinkingConfig?: { thinkingBudget?: number; thinkingLevel?: string };
  };
}
