import { anthropicInspector, observeAnthropicJson } from "./anthropic-dialect";
import type { Observation } from "./observation";
import { observeOpenAIJson, openAIInspector } from "./openai-dialect";
import type { SseInspector } from "./sse-pump";

/** The wire dialects of proxied answers: OpenAI's (chat, completions, embeddings) and Anthropic's (`/v1/messages`). */
export type Dialect = "openai" | "anthropic";

/** What the gateway reads from an answer of one dialect: its streams (through the SSE pump) and its JSON bodies. */
export interface DialectReader {
  /** A fresh inspector for one stream. `stripUsageChunk`: drop the usage chunk the client did not ask for (OpenAI only). */
  sse(options: { stripUsageChunk: boolean }): SseInspector;
  /** What a whole JSON answer tells (usage, generated text). */
  json(bytes: Uint8Array): Observation;
}

export const DIALECTS: Record<Dialect, DialectReader> = {
  openai: { sse: openAIInspector, json: observeOpenAIJson },
  anthropic: { sse: () => anthropicInspector(), json: observeAnthropicJson },
};
