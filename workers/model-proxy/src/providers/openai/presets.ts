import type { ProxyOperation } from "../../../../shared/src";
import { PROXY_OPERATIONS, type ProxiedOperation } from "../../../../shared/src/proxy/operations";
import type { ProviderType } from "../types";

/**
 * How each OpenAI-compatible vendor differs from OpenAI on the wire. The vendors are presets over
 * one adapter (adapter.ts), not copies of it: only what really differs is configured here.
 * Base URLs are provider configuration (the providers contract holds their defaults).
 */
export interface WirePreset {
  /** Operations the vendor serves at OpenAI's paths. */
  operations: readonly ProxyOperation[];
  /** How the credential is sent. `bearer`: `Authorization: Bearer <key>`; `api-key`: Azure's header. */
  auth: "bearer" | "api-key";
  /** Accepts `stream_options.include_usage` (so the gateway can meter streams exactly). */
  streamUsage: boolean;
  /** Azure addresses a deployment in the path and needs `api-version`. */
  deploymentPath?: boolean;
}

const ALL: readonly ProxyOperation[] = ["chat", "completions", "embeddings"];
const CHAT_EMBED: readonly ProxyOperation[] = ["chat", "embeddings"];
const CHAT: readonly ProxyOperation[] = ["chat"];

export const WIRE_PRESETS: Partial<Record<ProviderType, WirePreset>> = {
  openai: { operations: ALL, auth: "bearer", streamUsage: true },
  "openai-compatible": { operations: ALL, auth: "bearer", streamUsage: true },
  "azure-openai": { operations: ALL, auth: "api-key", streamUsage: true, deploymentPath: true },
  groq: { operations: CHAT, auth: "bearer", streamUsage: true },
  together: { operations: ALL, auth: "bearer", streamUsage: true },
  mistral: { operations: CHAT_EMBED, auth: "bearer", streamUsage: false },
  deepseek: { operations: ["chat", "completions"], auth: "bearer", streamUsage: true },
  fireworks: { operations: ALL, auth: "bearer", streamUsage: true },
  openrouter: { operations: ["chat", "completions"], auth: "bearer", streamUsage: true },
  xai: { operations: ["chat", "completions", "embeddings"], auth: "bearer", streamUsage: true },
  perplexity: { operations: CHAT, auth: "bearer", streamUsage: false },
  ollama: { operations: ALL, auth: "bearer", streamUsage: true },
  vllm: { operations: ALL, auth: "bearer", streamUsage: true },
  "workers-ai": { operations: CHAT_EMBED, auth: "bearer", streamUsage: false },
  "meta-llama": { operations: CHAT, auth: "bearer", streamUsage: false },
  "litellm-proxy": { operations: ALL, auth: "bearer", streamUsage: true },
};

/** OpenAI's paths, from the operations table; `messages` (Anthropic's API) is served through translation, not by a path here. */
export const OPENAI_PATHS: Partial<Record<ProxyOperation, string>> = Object.fromEntries(
  Object.entries(PROXY_OPERATIONS).flatMap(([name, op]: [string, ProxiedOperation]) => (op.upstreamPath ? [[name, op.upstreamPath]] : [])),
);
