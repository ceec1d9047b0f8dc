import { tokenUsageOfAnthropic, type AnthropicUsage } from "../../../shared/src/anthropic";
import { usageNearEnd } from "../streaming/json-tap";
import { emptyObservation, type Observation } from "../streaming/observation";

/** A Message larger than this is not kept whole; its usage is then read from the last bytes. */
const WHOLE_LIMIT = 4 * 1024 * 1024;
const TAIL_BYTES = 64 * 1024;
const decoder = new TextDecoder();

/**
 * The gateway's view into a JSON Anthropic Message: chunks reach the client as they arrive, a copy
 * is kept to read `usage` (and the generated text, for an estimate when usage is missing) after
 * the last byte.
 */
export function tapAnthropicJson(body: ReadableStream<Uint8Array>, onEnd: (observation: Observation) => void): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  const seen = emptyObservation();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let whole = true;
  let ended = false;

  const finish = () => {
    if (ended) return;
    ended = true;
    const text = chunks.map((c) => decoder.decode(c, { stream: true })).join("") + decoder.decode();
    let usage: AnthropicUsage | null = null;
    try {
      if (whole) {
        const message = JSON.parse(text) as { usage?: AnthropicUsage; content?: { text?: string; thinking?: string; input?: unknown }[] };
        usage = message.usage ?? null;
        for (const block of message.content ?? []) {
          seen.completionChars += (block.text?.length ?? 0) + (block.thinking?.length ?? 0) + (block.input ? JSON.stringify(block.input).length : 0);
        }
      } else {
        usage = usageNearEnd(text) as AnthropicUsage | null;
      }
    } catch {
      // Truncated (client gone) or not JSON: usage stays unknown and is estimated.
    }
    const metered = usage ? tokenUsageOfAnthropic(usage) : null;
    seen.usage = metered && metered.totalTokens > 0 ? metered : null;
    onEnd(seen);
  };

  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let result: ReadableStreamReadResult<Uint8Array>;
        try {
          result = await reader.read();
        } catch (err) {
          seen.upstreamError = true;
          finish();
          controller.error(err);
          return;
        }
        if (result.done) {
          controller.close();
          finish();
          return;
        }
        seen.firstByteAt ??= Date.now();
        chunks.push(result.value);
        size += result.value.byteLength;
        if (size > WHOLE_LIMIT) {
          whole = false;
          while (chunks.length > 1 && size - chunks[0]!.byteLength >= TAIL_BYTES) size -= chunks.shift()!.byteLength;
        }
        controller.enqueue(result.value);
      },
      cancel(reason) {
        seen.aborted = true;
        finish();
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
