import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { ANTHROPIC_FAKE_KEY } from "../fake-upstream/anthropic";
import { GOOGLE_FAKE_KEY } from "../fake-upstream/google";
import type { FakeUpstream } from "../fake-upstream/server";
import { anthropicClient, openaiClient } from "./clients";
import type { DroppableFetch } from "./dropped-connection";
import type { Stack } from "./stack";
import { tenantWithKey } from "./tenants";

/**
 * Every wire format the gateway speaks upstream (OpenAI, Anthropic, Gemini) crossed with both client
 * APIs (`/v1/chat/completions` with the openai SDK, `/v1/messages` with @anthropic-ai/sdk), for the
 * tests that show one behaviour holds for all of them (faults, a client that leaves).
 */

export type Api = "chat" | "messages";
export type FormatProvider = "oai" | "claude" | "gemini";

export const FORMAT_CASES: { name: string; provider: FormatProvider; api: Api }[] = [
  { name: "chat → OpenAI", provider: "oai", api: "chat" },
  { name: "chat → Anthropic (translated)", provider: "claude", api: "chat" },
  { name: "chat → Gemini (translated)", provider: "gemini", api: "chat" },
  { name: "/v1/messages → Anthropic (native)", provider: "claude", api: "messages" },
  { name: "/v1/messages → OpenAI (translated)", provider: "oai", api: "messages" },
  { name: "/v1/messages → Gemini (translated)", provider: "gemini", api: "messages" },
];

/** How many events each upstream sends before a fault (Gemini's recorded stream has only two). */
export const EVENTS_BEFORE_FAULT = { oai: 3, claude: 3, gemini: 1 } as const satisfies Record<FormatProvider, number>;

/** model-proxy vars: the fake upstream as the platform providers `oai`, `claude` and `gemini`, each with `timeoutMs`. */
export function formatProviderVars(upstream: FakeUpstream, timeoutMs: number): Record<string, Record<string, string>> {
  const providers = [
    { name: "oai", type: "openai", base_url: upstream.url, timeout_ms: timeoutMs },
    { name: "claude", type: "anthropic", base_url: upstream.url, timeout_ms: timeoutMs },
    { name: "gemini", type: "google", base_url: upstream.url.replace(/\/v1$/, "/v1beta"), timeout_ms: timeoutMs },
  ];
  const keys = { oai: upstream.apiKey, claude: ANTHROPIC_FAKE_KEY, gemini: GOOGLE_FAKE_KEY };
  return { "model-proxy": { PLATFORM_PROVIDERS: JSON.stringify(providers), PLATFORM_PROVIDER_KEYS: JSON.stringify(keys) } };
}

export interface Call {
  /** One request; resolves when the response headers arrived. */
  send(model: string, stream: boolean): Promise<AsyncIterable<unknown> | unknown>;
  /** The SDK's error class for an HTTP or stream error. */
  APIError: new (...args: never[]) => Error;
}

/** A client of the API under test, on a new key; `fetch` lets a test drop its connection. */
export async function callerFor(
  stack: Pick<Stack, "url" | "adminToken">,
  api: Api,
  keyBody: Parameters<typeof tenantWithKey>[1] = {},
  fetch?: DroppableFetch,
): Promise<Call> {
  const { apiKey } = await tenantWithKey(stack, keyBody);
  const extra = fetch ? { fetch: fetch.fetch as never, defaultHeaders: fetch.headers } : {};
  if (api === "chat") {
    const client = openaiClient(stack, apiKey, extra);
    return {
      send: (model, stream) => client.chat.completions.create({ model, messages: [{ role: "user", content: "Capital of France?" }], stream }),
      APIError: OpenAI.APIError,
    };
  }
  const client = anthropicClient(stack, apiKey, extra);
  return {
    send: (model, stream) => client.messages.create({ model, max_tokens: 64, messages: [{ role: "user", content: "Capital of France?" }], stream }),
    APIError: Anthropic.APIError,
  };
}

/** Reads a stream to its end; the error it ends with (null if none) and how many events came first. */
export async function drain(stream: AsyncIterable<unknown>): Promise<{ events: number; error: unknown }> {
  let events = 0;
  try {
    for await (const _ of stream) events++;
  } catch (error) {
    return { events, error };
  }
  return { events, error: null };
}
