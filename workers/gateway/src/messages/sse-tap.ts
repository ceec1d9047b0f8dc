import { anthropicErrorEvent, anthropicErrorFromOpenAI } from "../../../shared/src/anthropic";
import { mergeAnthropicUsage, usageFromAnthropic, type AnthropicUsage } from "../../../shared/src/token-usage";
import { nextEventEnd, SseEventSplitter, sseEventTooLarge } from "../../../shared/src/openai";
import { emptyObservation, type Observation } from "../streaming/observation";

export interface AnthropicSseTapOptions {
  /** Provider name for the error event if the stream breaks between hops. */
  provider: string | null;
  /** Called exactly once when the stream ended, failed or the client went away. */
  onEnd: (observation: Observation) => void;
}

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

/** The fields of an Anthropic stream event this tap reads (the upstream's numbers, trusted as usage). */
interface TappedEvent {
  type?: unknown;
  error?: unknown;
  message?: { usage?: AnthropicUsage | null };
  usage?: AnthropicUsage | null;
  delta?: { text?: unknown; partial_json?: unknown; thinking?: unknown };
}

/**
 * The gateway's view into an Anthropic Messages stream (`/v1/messages`). Bytes pass through as
 * they arrive, event by event (an incomplete event is held until its end comes in). Each event is
 * read for usage (`message_start`, then the cumulative `message_delta`), generated content and
 * errors. Two things are rewritten so `@anthropic-ai/sdk` always sees Anthropic's shapes:
 * - an OpenAI-shaped error event from inside the gateway (`data: {"error":…}`, e.g. model-proxy's
 *   idle timeout) becomes Anthropic's `event: error`;
 * - a stream that ends before `message_stop` without an error gets one, so a broken stream is never
 *   mistaken for a complete message.
 * Usage counts of 0 (a translated stream whose upstream reported none) count as not reported, so
 * the request is metered by estimate instead of as free.
 */
export function tapAnthropicSse(body: ReadableStream<Uint8Array>, options: AnthropicSseTapOptions): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  const seen = emptyObservation();
  let usage: AnthropicUsage = {};
  const splitter = new SseEventSplitter();
  let sawStop = false;
  let ended = false;

  const end = () => {
    if (ended) return;
    ended = true;
    const metered = usageFromAnthropic(usage);
    seen.usage = metered.totalTokens > 0 ? metered : null;
    options.onEnd(seen);
  };

  const inspect = (bytes: Uint8Array): Uint8Array => {
    const { name, data } = parseEvent(decoder.decode(bytes));
    if (data === null) return bytes;
    let event: TappedEvent | null;
    try {
      event = JSON.parse(data) as TappedEvent | null;
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
  };

  const broken = (controller: ReadableStreamDefaultController<Uint8Array>) => {
    seen.upstreamError = true;
    controller.enqueue(
      encoder.encode(
        anthropicErrorEvent({
          code: "upstream_error",
          message: `The stream${options.provider ? ` from provider '${options.provider}'` : ""} broke before it was complete.`,
        }),
      ),
    );
  };

  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        for (;;) {
          let result: ReadableStreamReadResult<Uint8Array>;
          try {
            result = await reader.read();
          } catch {
            broken(controller);
            controller.close();
            end();
            return;
          }
          if (result.done) {
            const rest = splitter.rest();
            if (rest) controller.enqueue(inspect(rest));
            if (!sawStop && !seen.upstreamError) broken(controller);
            controller.close();
            end();
            return;
          }
          seen.firstByteAt ??= Date.now();
          const runs = splitter.push(result.value);
          if (runs === null) {
            seen.upstreamError = true;
            controller.enqueue(encoder.encode(anthropicErrorEvent(sseEventTooLarge(options.provider))));
            controller.close();
            end();
            reader.cancel(new DOMException("An upstream event was too large.", "AbortError")).catch(() => {});
            return;
          }
          for (const buf of runs) {
            let from = 0;
            let keptFrom = 0;
            for (let to = nextEventEnd(buf, 0); to !== -1; to = nextEventEnd(buf, from)) {
              const event = buf.subarray(from, to);
              const out = inspect(event);
              if (out !== event) {
                if (from > keptFrom) controller.enqueue(buf.subarray(keptFrom, from));
                controller.enqueue(out);
                keptFrom = to;
              }
              from = to;
            }
            if (buf.byteLength > keptFrom) controller.enqueue(buf.subarray(keptFrom));
          }
          if (runs.length > 0) return;
        }
      },
      cancel(reason) {
        seen.aborted = true;
        end();
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
