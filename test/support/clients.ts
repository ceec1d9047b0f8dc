import Anthropic, { type ClientOptions as AnthropicOptions } from "@anthropic-ai/sdk";
import { ChatOpenAI, OpenAIEmbeddings, type ChatOpenAIFields } from "@langchain/openai";
import OpenAI, { type ClientOptions as OpenAIOptions } from "openai";
import type { Stack } from "./stack";
import { tenantWithKey } from "./tenants";

/**
 * The one client factory per SDK for system tests: each builds the real SDK client a user would use,
 * pointed at the gateway, with SDK retries off (so each call is exactly one request) unless a test
 * asks for them. `opts` override anything (e.g. `fetch`, `defaultHeaders`, `maxRetries`, `baseURL`).
 */

/** An OpenAI SDK client on the gateway's `/v1`. */
export function openaiClient(stack: Pick<Stack, "url">, apiKey: string, opts: Partial<OpenAIOptions> = {}): OpenAI {
  return new OpenAI({ apiKey, baseURL: `${stack.url}/v1`, maxRetries: 0, ...opts });
}

/** An Anthropic SDK client on the gateway (the SDK adds `/v1/messages` itself). */
export function anthropicClient(stack: Pick<Stack, "url">, apiKey: string, opts: Partial<AnthropicOptions> = {}): Anthropic {
  return new Anthropic({ apiKey, baseURL: stack.url, maxRetries: 0, ...opts });
}

/**
 * LangChain's `ChatOpenAI` on the gateway's `/v1/langchain`, exactly as a LangChain app configures
 * it (`configuration.baseURL`), retries off; `defaultHeaders` go on every request (e.g. `x-lc-*`).
 */
export function langchainChat(
  stack: Pick<Stack, "url">,
  apiKey: string,
  fields: ChatOpenAIFields = {},
  defaultHeaders: Record<string, string> = {},
): ChatOpenAI {
  return new ChatOpenAI({
    apiKey,
    maxRetries: 0,
    ...fields,
    configuration: { baseURL: `${stack.url}/v1/langchain`, defaultHeaders, ...fields.configuration },
  });
}

/** LangChain's `OpenAIEmbeddings` on the gateway's `/v1/langchain`, retries off. */
export function langchainEmbeddings(stack: Pick<Stack, "url">, apiKey: string, model: string, defaultHeaders: Record<string, string> = {}): OpenAIEmbeddings {
  return new OpenAIEmbeddings({ apiKey, model, maxRetries: 0, configuration: { baseURL: `${stack.url}/v1/langchain`, defaultHeaders } });
}

/** A new tenant's key and an OpenAI client on the gateway for it. */
export async function clientFor(stack: Pick<Stack, "url" | "adminToken">, keyBody: Parameters<typeof tenantWithKey>[1] = {}) {
  const { apiKey, tenant, key } = await tenantWithKey(stack, keyBody);
  return { apiKey, tenant, key, client: openaiClient(stack, apiKey) };
}

/** A new tenant's key and an Anthropic client on the gateway for it (the key is its `x-api-key`). */
export async function anthropicClientFor(stack: Pick<Stack, "url" | "adminToken">, keyBody: Parameters<typeof tenantWithKey>[1] = {}) {
  const { apiKey, tenant, key } = await tenantWithKey(stack, keyBody);
  return { apiKey, tenant, key, client: anthropicClient(stack, apiKey) };
}
