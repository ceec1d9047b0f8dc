import { usageFromAnthropic, type AnthropicUsage } from "../../../shared/src/token-usage";
import { usageNearEnd } from "../streaming/json-tap";
import { emptyObservation, type Observation } from "../streaming/observation";

/** A Message larger than this is not parsed whole; its usage is then read from the last bytes. */
const WHOLE_LIMIT = 4 * 1024 * 1024;
const TAIL_BYTES = 64 * 1024;
const decoder = new TextDecoder();

/**
 * The gateway's view into a JSON Anthropic Message, read whole (within the upstream answer limit)
 * before the client gets it: its `usage`, and the generated text for an estimate when usage is
 * missing.
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
