import type { z } from "zod";
import { estimateMessagesPromptTokens, MessagesRequestSchema } from "../anthropic";
import type { Scope } from "../contracts/principal";
import {
  ChatCompletionRequestSchema,
  ChatCompletionSchema,
  completionAsk,
  CompletionRequestSchema,
  CompletionSchema,
  EmbeddingListSchema,
  EmbeddingRequestSchema,
  estimateChatPromptTokens,
  estimateInputTokens,
  type CompletionAsk,
} from "../openai";
import type { Dialect } from "./dialects";
import { handChecksChatRequest } from "../openai/chat-check";

/** What the limiter reserves for a request before it is sent: its prompt estimate and completion ask. */
export interface OperationEstimate {
  promptTokens: number;
  completion: CompletionAsk;
}

/**
 * One proxied operation: everything the gateway, tail and model-proxy need to know about it.
 * Adding an operation is one row in `PROXY_OPERATIONS` (plus its adapters in model-proxy).
 */
export interface ProxiedOperation {
  /** Where the gateway serves it: under each OpenAI surface's prefix (`/v1`, `/v1/langchain`), or at `/v1` only (Anthropic's). */
  surface: "openai" | "anthropic";
  /** The path under the surface's prefix. */
  path: string;
  /** The OpenAPI summary of the route. */
  summary: string;
  /** The key scope it needs. */
  scope: Scope;
  /** The request body's schema: what the gateway validates and `/openapi.json` documents. */
  schema: z.ZodType;
  /**
   * A check without zod that is true only for bodies `schema` accepts as they are (its parse would
   * equal the body): the gateway then skips zod; false asks zod, which decides and words the error.
   */
  handCheck?: (raw: unknown) => boolean;
  /** The JSON answer's schema, for the OpenAPI document (null: documented by the surface). */
  response: z.ZodType | null;
  /** The limiter's reservation, from the (validated) body; model-proxy routes by the same prompt estimate. */
  estimate(body: Record<string, unknown>): OperationEstimate;
  /**
   * How it crosses gateway → tail → model-proxy: as HTTP over the bindings (`contracts/proxy-http.ts`),
   * streamed or not — cancelling a streamed answer's reader cancels it across both hops down to the
   * upstream fetch. `stream`: whether the operation may answer with an SSE stream (`stream: true`).
   */
  transport: { via: "http"; stream: boolean };
  /** The answer's wire dialect: which SSE inspector and JSON reader the gateway uses (dialects.ts). */
  dialect: Dialect;
  /** Client headers the upstream must see (allow-listed; never auth). */
  forwardHeaders: readonly string[];
  /** The path of an OpenAI-wire upstream serving it (model-proxy's OpenAI-compatible adapter); null: served by translation only. */
  upstreamPath: string | null;
}

/** The table of proxied operations, from which the gateway's routes, tail's entrypoint and model-proxy's dispatch are derived. */
export const PROXY_OPERATIONS = {
  chat: {
    surface: "openai",
    path: "/chat/completions",
    summary: "Create a chat completion (streamed or not)",
    scope: "chat",
    schema: ChatCompletionRequestSchema,
    handCheck: handChecksChatRequest,
    response: ChatCompletionSchema,
    estimate: (body) => ({ promptTokens: estimateChatPromptTokens(body), completion: completionAsk(body) }),
    transport: { via: "http", stream: true },
    dialect: "openai",
    forwardHeaders: [],
    upstreamPath: "/chat/completions",
  },
  completions: {
    surface: "openai",
    path: "/completions",
    summary: "Create a text completion (legacy; streamed or not)",
    scope: "chat",
    schema: CompletionRequestSchema,
    response: CompletionSchema,
    estimate: (body) => ({
      promptTokens: estimateInputTokens(body["prompt"]) + (typeof body["suffix"] === "string" ? estimateInputTokens(body["suffix"]) : 0),
      completion: completionAsk({ max_tokens: body["max_tokens"], n: body["n"], best_of: body["best_of"] }),
    }),
    transport: { via: "http", stream: true },
    dialect: "openai",
    forwardHeaders: [],
    upstreamPath: "/completions",
  },
  embeddings: {
    surface: "openai",
    path: "/embeddings",
    summary: "Create embeddings (float or base64)",
    scope: "embeddings",
    schema: EmbeddingRequestSchema,
    response: EmbeddingListSchema,
    estimate: (body) => ({ promptTokens: estimateInputTokens(body["input"]), completion: { maxPerChoice: 0, choices: 1 } }),
    transport: { via: "http", stream: false },
    dialect: "openai",
    forwardHeaders: [],
    upstreamPath: "/embeddings",
  },
  /**
   * Anthropic's Messages API (`/v1/messages`): an Anthropic request; a successful answer is
   * Anthropic-shaped (a Message, or Anthropic SSE events) — passed through from Anthropic
   * upstreams, translated for all others. Errors stay OpenAI-shaped between the Workers; the
   * gateway renders them in Anthropic's shape for that endpoint.
   */
  messages: {
    surface: "anthropic",
    path: "/messages",
    summary: "Create a message (Anthropic Messages API; streamed or not)",
    scope: "chat",
    schema: MessagesRequestSchema,
    response: null,
    estimate: (body) => ({ promptTokens: estimateMessagesPromptTokens(body), completion: completionAsk({ max_tokens: body["max_tokens"] }) }),
    transport: { via: "http", stream: true },
    dialect: "anthropic",
    forwardHeaders: ["anthropic-version", "anthropic-beta"],
    upstreamPath: null,
  },
} as const satisfies Record<string, ProxiedOperation>;

/** A proxied operation's name: a key of the table. */
export type ProxyOperation = keyof typeof PROXY_OPERATIONS;

/** The operations' names, for schemas (`z.enum`). */
export const PROXY_OPERATION_NAMES = Object.keys(PROXY_OPERATIONS) as [ProxyOperation, ...ProxyOperation[]];

/** One operation's row. */
export function proxiedOperation(name: ProxyOperation): ProxiedOperation {
  return PROXY_OPERATIONS[name];
}

/** Every client header some operation forwards (ProxyRequest.headers may hold only these). */
export const FORWARDED_HEADERS: ReadonlySet<string> = new Set(Object.values(PROXY_OPERATIONS).flatMap((op: ProxiedOperation) => op.forwardHeaders));
