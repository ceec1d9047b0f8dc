import type { TokenUsage } from "../token-usage";

/** What a tap saw of a response body by the time it ended. */
export interface Observation {
  /** Usage the upstream reported (the last one seen), or null. */
  usage: TokenUsage | null;
  /** Characters of generated text/arguments seen (to estimate usage the upstream never reported). */
  completionChars: number;
  /** Events that carried generated content (≈ tokens for OpenAI-style streams). */
  contentEvents: number;
  /** The client went away before the end. */
  aborted: boolean;
  /** The upstream failed mid-way (an error event, or the stream broke); the client got an error event. */
  upstreamError: boolean;
  /** Epoch ms of the first body byte, null if none arrived. */
  firstByteAt: number | null;
}

export function emptyObservation(): Observation {
  return { usage: null, completionChars: 0, contentEvents: 0, aborted: false, upstreamError: false, firstByteAt: null };
}

const str = (v: unknown): number => (typeof v === "string" ? v.length : 0);

/**
 * Counts generated characters in one choice of a chat chunk (`delta`), a chat completion
 * (`message`) or a text completion (`text`): content, refusals, reasoning and tool-call arguments.
 */
export function generatedChars(choice: unknown): number {
  if (!choice || typeof choice !== "object") return 0;
  const c = choice as Record<string, unknown>;
  let n = str(c["text"]);
  const d = (c["delta"] ?? c["message"]) as Record<string, unknown> | undefined;
  if (d && typeof d === "object") {
    n += str(d["content"]) + str(d["refusal"]) + str(d["reasoning_content"]) + str(d["reasoning"]);
    const calls = d["tool_calls"];
    if (Array.isArray(calls)) {
      for (const call of calls) {
        const fn = (call as { function?: { name?: unknown; arguments?: unknown } } | null)?.function;
        if (fn) n += str(fn.name) + str(fn.arguments);
      }
    }
  }
  return n;
}
