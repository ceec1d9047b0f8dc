import { anthropicErrorEvent, anthropicErrorFromOpenAI } from "../anthropic";
import { mergeAnthropicUsage, usageFromAnthropic, type AnthropicUsage } from "../token-usage";
import { emptyObservation, type Observation } from "./observation";
import { usageNearEnd } from "./openai-dialect";
import type { SseInspector } from "./sse-pump";

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** The `event:` name and joined `data:` of one SSE event. */
function parseEvent(text: string): { name: string | null; data: string | null } {
  let name: string | null = null;
  let data: string | null = null;
  for (const raw of text.split(/\r?\n/)) {
    if (raw.startsWith("event:")) name = raw.slice(raw.charCodeAt(6) === 32 ? 7 : 6);
    else if (raw.startsWith("data:")) {
      const v = raw.charCodeAt(5) === 32 ? raw.slice(6) : raw.slice(5);
      data = data === null ? v : `${data}\n${v}`;
    }
  }
  return { name, data };
}

const chars = (v: unknown) => (typeof v === "string" ? v.length : 0);

/** The fields of an Anthropic stream event the inspector reads (the upstream's numbers, trusted as usage). */
interface InspectedEvent {
  type?: unknown;
  error?: unknown;
  message?: { usage?: AnthropicUsage | null };
  usage?: AnthropicUsage | null;
  delta?: { text?: unknown; partial_json?: unknown; thinking?: unknown };
}

/**
 * Anthropic's Messages streams (`/v1/messages`), for the SSE pump. Each event is read for usage
 * (`message_start`, then the cumulative `message_delta`), generated content and errors; the stream
 * is complete at `message_stop`. Errors are Anthropic's `event: error`, so `@anthropic-ai/sdk`
 * always sees Anthropic's shapes — also an OpenAI-shaped error event from inside the gateway
 * (`data: {"error":…}`) is rewritten to it. Usage counts of 0 (a translated stream whose upstream
 * reported none) count as not reported, so the request is metered by estimate instead of as free.
 */
export function anthropicInspector(): SseInspector {
  let usage: AnthropicUsage = {};
  let sawStop = false;
  return {
    inspect(bytes, seen) {
      const { name, data } = parseEvent(decoder.decode(bytes));
      if (data === null) return bytes;
      let event: InspectedEvent | null;
      try {
        event = JSON.parse(data) as InspectedEvent | null;
      } catch {
        return bytes;
      }
      if (name === null && event?.["error"]) {
        seen.upstreamError = true;
        const converted = anthropicErrorFromOpenAI(event, 502);
        return encoder.encode(
          `event: error\ndata: ${JSON.stringify(converted ?? { type: "error", error: { type: "api_error", message: "The upstream failed." } })}\n\n`,
        );
      }
      switch (event?.["type"]) {
        case "message_start":
          usage = mergeAnthropicUsage(usage, event.message?.usage);
          break;
        case "message_delta":
          usage = mergeAnthropicUsage(usage, event.usage);
          break;
        case "content_block_delta": {
          const d = event.delta ?? {};
          const n = chars(d.text) + chars(d.partial_json) + chars(d.thinking);
          if (n > 0) {
            seen.completionChars += n;
            seen.contentEvents++;
          }
          break;
        }
        case "message_stop":
          sawStop = true;
          break;
        case "error":
          seen.upstreamError = true;
          break;
      }
      return bytes;
    },
    closing: () => (sawStop ? "complete" : "broken"),
    errorEvent: (init) => encoder.encode(anthropicErrorEvent(init)),
    settle(seen) {
      const metered = usageFromAnthropic(usage);
      seen.usage = metered.totalTokens > 0 ? metered : null;
    },
  };
}

/** A Message larger than this is not parsed whole; its usage is then read from the last bytes. */
const WHOLE_LIMIT = 4 * 1024 * 1024;
const TAIL_BYTES = 64 * 1024;

/**
 * A JSON Anthropic Message, read whole (within the upstream answer limit) before the client gets
 * it: its `usage`, and the generated text for an estimate when usage is missing.
 */
export function observeAnthropicJson(bytes: Uint8Array): Observation {
  const seen = emptyObservation();
  seen.firstByteAt = Date.now();
  let usage: AnthropicUsage | null = null;
  try {
    if (bytes.byteLength <= WHOLE_LIMIT) {
      const message = JSON.parse(decoder.decode(bytes)) as { usage?: AnthropicUsage; content?: { text?: string; thinking?: string; input?: unknown }[] };
      usage = message.usage ?? null;
      for (const block of message.content ?? []) {
        seen.completionChars += (block.text?.length ?? 0) + (block.thinking?.length ?? 0) + (block.input ? JSON.stringify(block.input).length : 0);
      }
    } else {
      usage = usageNearEnd(decoder.decode(bytes.subarray(bytes.byteLength - TAIL_BYTES))) as AnthropicUsage | null;
    }
  } catch {
    // Not JSON: usage stays unknown and is estimated.
  }
  const metered = usage ? usageFromAnthropic(usage) : null;
  seen.usage = metered && metered.totalTokens > 0 ? metered : null;
  return seen;
}
