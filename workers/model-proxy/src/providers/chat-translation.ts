import type { ChatCompletion, ChatCompletionChunk, ChatCompletionCreateParams } from "openai/resources/chat/completions";
import type { CompletionUsage } from "openai/resources/completions";
import { ApiError, errorBody, formatSseJson, readBoundedBytes, SSE_DONE, upstreamTooLarge, type ApiErrorInit } from "../../../shared/src";
import type { AdapterContext } from "./types";

/**
 * Pieces every translating adapter (Anthropic, Gemini) needs to speak OpenAI's chat format back to
 * the client: the request type it reads, the 400 it throws for a parameter it cannot honour, and a
 * writer that emits OpenAI chunks with one stable id/created/model per stream.
 */

/** The validated OpenAI chat request as adapters receive it (extra vendor keys may be present). */
export type ChatRequest = ChatCompletionCreateParams & Record<string, unknown>;
export type FinishReason = ChatCompletion.Choice["finish_reason"];
export type ChunkDelta = ChatCompletionChunk.Choice.Delta & { reasoning_content?: string };
export type { ChatCompletion, ChatCompletionChunk, CompletionUsage };

/** A request parameter the target provider cannot honour: OpenAI's 400 naming the `param`. */
export function unsupportedParam(param: string, message: string): ApiError {
  return new ApiError({ code: "invalid_request", param, message });
}

/** Whether the client (or the gateway's usage tap) needs the final usage chunk of a stream. */
export function wantsStreamUsage(body: ChatRequest, ctx: AdapterContext): boolean {
  const options = body.stream_options as { include_usage?: boolean } | null | undefined;
  return ctx.forceStreamUsage || options?.include_usage === true;
}

/** `max_completion_tokens` supersedes the deprecated `max_tokens`; either may be sent. */
export function requestedMaxTokens(body: ChatRequest): number | null {
  const value = body.max_completion_tokens ?? body.max_tokens;
  return typeof value === "number" ? value : null;
}

/** `stop` may be a string or a list; providers take a list. */
export function stopSequences(stop: unknown): string[] | undefined {
  if (typeof stop === "string") return [stop];
  if (Array.isArray(stop) && stop.length > 0) return stop.filter((s): s is string => typeof s === "string");
  return undefined;
}

/** The text of an OpenAI message `content` made only of text parts (system, developer, tool). */
export function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content.map((part: { type?: string; text?: string; refusal?: string }) => part.text ?? part.refusal ?? "").join("");
}

/** `data:<media type>;base64,<data>` → its parts; null for any other URL. */
export function parseDataUrl(url: string): { mediaType: string; data: string } | null {
  const match = /^data:([^;,]+)(?:;[^,]*)?;base64,(.*)$/s.exec(url);
  return match ? { mediaType: match[1]!.toLowerCase(), data: match[2]! } : null;
}

/** Parses tool-call arguments sent back by the client; a provider needs them as an object. */
export function parseToolArguments(raw: string, param: string): Record<string, unknown> {
  if (raw.trim() === "") return {};
  try {
    const value: unknown = JSON.parse(raw);
    if (value && typeof value === "object" && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw unsupportedParam(param, `Invalid value for '${param}': tool call arguments must be a JSON object.`);
}

/**
 * Writes OpenAI chat chunks as SSE text. One writer per stream, so every chunk shares the id,
 * `created` and `model` the way OpenAI's own streams do.
 */
export class ChunkWriter {
  constructor(
    readonly id: string,
    public model: string,
    readonly created = Math.floor(Date.now() / 1000),
  ) {}

  chunk(delta: ChunkDelta, finishReason: FinishReason | null = null, index = 0): string {
    const chunk: ChatCompletionChunk = {
      id: this.id,
      object: "chat.completion.chunk",
      created: this.created,
      model: this.model,
      choices: [{ index, delta, logprobs: null, finish_reason: finishReason }],
    };
    return formatSseJson(chunk);
  }

  /** OpenAI's trailing usage chunk: no choices, just usage (sent when `include_usage` asked). */
  usage(usage: CompletionUsage): string {
    const chunk: ChatCompletionChunk = {
      id: this.id,
      object: "chat.completion.chunk",
      created: this.created,
      model: this.model,
      choices: [],
      usage,
    };
    return formatSseJson(chunk);
  }

  done(): string {
    return SSE_DONE;
  }

  /**
   * A mid-stream failure in the shape the OpenAI SDK raises as an `APIError` (`data: {"error":…}`);
   * the stream then ends without `[DONE]` so no client mistakes it for a complete answer.
   */
  error(init: ApiErrorInit): string {
    return formatSseJson(errorBody(init));
  }
}

const decoder = new TextDecoder();

/**
 * Reads a JSON success body within MAX_UPSTREAM_JSON_BYTES (a larger one is a 502, not an isolate
 * out of memory); a 200 that is not JSON is an upstream fault, not a client one.
 */
export async function readUpstreamJson<T>(response: Response, providerName: string): Promise<T> {
  const bytes = await readBoundedBytes(response);
  if (!bytes) throw new ApiError(upstreamTooLarge(providerName));
  try {
    return JSON.parse(decoder.decode(bytes)) as T;
  } catch {
    throw new ApiError({ code: "upstream_error", message: `Provider '${providerName}' returned a response that is not JSON.` });
  }
}
