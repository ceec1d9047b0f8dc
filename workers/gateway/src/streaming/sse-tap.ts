import { usageFromOpenAI } from "../../../shared/src/token-usage";
import { nextEventEnd, SSE_DONE_BYTES, SseEventSplitter, sseErrorEvent, sseEventTooLarge } from "../../../shared/src/openai";
import { emptyObservation, generatedChars, type Observation } from "./observation";

export interface SseTapOptions {
  /**
   * Drop the usage-only chunk (`choices: []` with `usage`): model-proxy asked the upstream for it
   * on the gateway's behalf, and the client, which did not ask, must not receive it.
   */
  stripUsageChunk: boolean;
  /** Provider name for the error event if the stream breaks between hops. */
  provider: string | null;
  /** Called exactly once when the stream ended, failed or the client went away. */
  onEnd: (observation: Observation) => void;
  /**
   * Aborts when the client disconnected (the incoming request's signal). The runtime only cancels
   * a response body when a write to a gone client fails, which never happens while the upstream
   * is silent (a model still thinking); this ends the stream at once instead.
   */
  clientGone?: AbortSignal;
  /**
   * Longest wait for the upstream's next chunk (the provider's timeout, from model-proxy's
   * `x-gateway-idle-timeout-ms`): a stream that goes silent for longer ends with a timeout error
   * event, and the tap's end tells model-proxy to stop the upstream call. Only time spent waiting
   * on the upstream counts, not time the client takes to read.
   */
  idleTimeoutMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

// Inside JSON strings quotes are escaped, so these unescaped patterns can only be members.
const USAGE_OBJECT = /"usage"\s*:\s*\{/;
const ERROR_MEMBER = /"error"\s*:/;
const FINISHED = /"finish_reason"\s*:\s*"/;
const NULL_USAGE = /"usage"\s*:\s*null/;
const GENERATED = /"(?:content|refusal|reasoning_content|reasoning|arguments|text)"\s*:\s*"/g;

/**
 * Characters of generated text in a chunk's JSON, without parsing it: the lengths of its
 * content/refusal/reasoning/arguments/text string values (escapes count as written; this feeds
 * estimates only, for streams whose upstream never reported usage).
 */
export function generatedCharsIn(json: string): number {
  let n = 0;
  GENERATED.lastIndex = 0;
  for (let m = GENERATED.exec(json); m; m = GENERATED.exec(json)) {
    let i = GENERATED.lastIndex;
    const start = i;
    while (i < json.length && json.charCodeAt(i) !== 34) i += json.charCodeAt(i) === 92 ? 2 : 1;
    n += i - start;
    GENERATED.lastIndex = i + 1;
  }
  return n;
}

/**
 * The event text without its top-level `"usage":null` member, or null if it has none in the
 * compact form servers write. Inside JSON strings quotes are escaped, so the unescaped sequence
 * can only be a member name; this edits the bytes without re-serialising the chunk.
 */
export function withoutNullUsage(text: string): string | null {
  const after = text.replace(/,\s*"usage"\s*:\s*null(?=\s*[,}])/, "");
  if (after !== text) return after;
  const before = text.replace(/"usage"\s*:\s*null\s*,\s*/, "");
  return before !== text ? before : null;
}

/** The `data` of one SSE event (its `data:` lines joined), or null if it has none. */
function dataOf(event: string): string | null {
  if (event.startsWith("data: ") && event.indexOf("\n") === event.length - 2) return event.slice(6, -2); // OpenAI's one-line event
  let data: string | null = null;
  for (const raw of event.split(/\r?\n/)) {
    if (!raw.startsWith("data:")) continue;
    const v = raw.charCodeAt(5) === 32 ? raw.slice(6) : raw.slice(5);
    data = data === null ? v : `${data}\n${v}`;
  }
  return data;
}

/**
 * The gateway's view into an OpenAI SSE stream. Bytes pass through as the upstream sent them,
 * event by event as they arrive — only an incomplete event is held until its end comes in, so
 * nothing is buffered beyond one event, and an event that grows past `MAX_SSE_EVENT_BYTES` without
 * ending ends the stream with an error event (and stops the upstream). Each event is read to learn the usage, count generated
 * content and notice error events. The stream always ends in a way the SDKs understand: `[DONE]`
 * after a complete answer (added if an upstream that finished its choices omitted it), or an
 * error event when the upstream broke — never a silent truncation.
 */
export function tapSse(body: ReadableStream<Uint8Array>, options: SseTapOptions): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  const seen = emptyObservation();
  const splitter = new SseEventSplitter();
  let sawDone = false;
  let sawFinish = false;
  let ended = false;

  const now = options.now ?? Date.now;
  let watchdog: ReturnType<typeof setTimeout> | undefined;
  let waitingSince: number | null = null;
  let timedOut = false;

  const end = () => {
    if (ended) return;
    ended = true;
    clearTimeout(watchdog);
    options.onEnd(seen);
  };

  // One watchdog per stream: it re-arms itself for the time left instead of a timer per chunk.
  const idle = options.idleTimeoutMs;
  const arm = (ms: number) => {
    watchdog = setTimeout(() => {
      if (ended) return;
      const left = waitingSince === null ? idle! : waitingSince + idle! - now();
      if (left > 0) return arm(left);
      timedOut = true;
      // The pending read resolves as done; the pull below ends the stream with the timeout.
      reader.cancel(new DOMException("upstream idle", "TimeoutError")).catch(() => {});
    }, ms);
  };
  if (idle !== undefined && idle > 0) arm(idle);

  /**
   * Reads one complete event. Returns what must reach the client: the event's own bytes, other
   * bytes when the event had to be cleaned, or null when it must not reach the client at all.
   */
  const inspect = (bytes: Uint8Array): Uint8Array | null => {
    const text = decoder.decode(bytes);
    const data = dataOf(text);
    if (data === null) return bytes;
    if (data === "[DONE]") {
      sawDone = true;
      return bytes;
    }
    // Most events are one content delta: read them by scanning, without building the object.
    // Only events that may carry usage or an error are parsed.
    if (!USAGE_OBJECT.test(data) && !ERROR_MEMBER.test(data)) {
      const chars = generatedCharsIn(data);
      if (chars > 0) {
        seen.completionChars += chars;
        seen.contentEvents++;
      }
      if (FINISHED.test(data)) sawFinish = true;
      if (options.stripUsageChunk && NULL_USAGE.test(data)) {
        const cleaned = withoutNullUsage(text);
        if (cleaned !== null) return encoder.encode(cleaned);
      }
      return bytes;
    }
    let chunk: Record<string, unknown>;
    try {
      chunk = JSON.parse(data) as Record<string, unknown>;
    } catch {
      return bytes;
    }
    if (!chunk || typeof chunk !== "object") return bytes;
    if (chunk["error"]) seen.upstreamError = true;
    const usage = chunk["usage"] ? usageFromOpenAI(chunk["usage"]) : null;
    if (usage) seen.usage = usage;
    const choices = chunk["choices"];
    if (Array.isArray(choices)) {
      if (choices.length === 0 && usage && options.stripUsageChunk) return null;
      for (const choice of choices) {
        const chars = generatedChars(choice);
        if (chars > 0) {
          seen.completionChars += chars;
          seen.contentEvents++;
        }
        if ((choice as { finish_reason?: unknown } | null)?.finish_reason) sawFinish = true;
      }
    }
    // Asking for usage made the upstream add `"usage":null` to every chunk; the client did not ask.
    if (options.stripUsageChunk && chunk["usage"] === null) {
      const cleaned = withoutNullUsage(text);
      if (cleaned !== null) return encoder.encode(cleaned);
    }
    return bytes;
  };

  const broken = (controller: ReadableStreamDefaultController<Uint8Array>) => {
    seen.upstreamError = true;
    controller.enqueue(
      sseErrorEvent({
        code: "upstream_error",
        message: `The stream${options.provider ? ` from provider '${options.provider}'` : ""} broke before it was complete.`,
      }),
    );
  };

  const timeoutEnd = (controller: ReadableStreamDefaultController<Uint8Array>) => {
    seen.upstreamError = true;
    const who = options.provider ? `Provider '${options.provider}'` : "The provider";
    controller.enqueue(sseErrorEvent({ code: "upstream_timeout", message: `${who} stopped sending for ${idle} ms; the stream was ended.` }));
    controller.close();
  };

  options.clientGone?.addEventListener("abort", () => {
    if (ended) return;
    seen.aborted = true;
    end();
    // The pending read resolves as done and the pull below closes the (unread) response.
    reader.cancel(options.clientGone!.reason).catch(() => {});
  });

  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        for (;;) {
          let result: ReadableStreamReadResult<Uint8Array>;
          waitingSince = now();
          try {
            result = await reader.read();
          } catch {
            // A read that fails after this tap cancelled it (client gone, timeout) is not a break.
            if (seen.aborted) controller.close();
            else if (timedOut) timeoutEnd(controller);
            else {
              broken(controller);
              controller.close();
            }
            end();
            return;
          } finally {
            waitingSince = null;
          }
          if (result.done) {
            if (seen.aborted) {
              controller.close();
              return;
            }
            if (timedOut) {
              timeoutEnd(controller);
              end();
              return;
            }
            const rest = splitter.rest();
            const last = rest ? inspect(rest) : null;
            if (last) controller.enqueue(last);
            if (!sawDone && !seen.upstreamError) {
              if (sawFinish) controller.enqueue(SSE_DONE_BYTES);
              else broken(controller);
            }
            controller.close();
            end();
            return;
          }
          seen.firstByteAt ??= Date.now();
          const runs = splitter.push(result.value);
          if (runs === null) {
            seen.upstreamError = true;
            controller.enqueue(sseErrorEvent(sseEventTooLarge(options.provider)));
            controller.close();
            end();
            reader.cancel(new DOMException("An upstream event was too large.", "AbortError")).catch(() => {});
            return;
          }
          let delivered = false;
          for (const buf of runs) {
            let from = 0;
            let keptFrom = 0;
            for (let to = nextEventEnd(buf, 0); to !== -1; to = nextEventEnd(buf, from)) {
              const event = buf.subarray(from, to);
              const out = inspect(event);
              if (out !== event) {
                // Flush the untouched run before this event, then its replacement (if any).
                if (from > keptFrom) controller.enqueue(buf.subarray(keptFrom, from));
                if (out) controller.enqueue(out);
                delivered ||= from > keptFrom || out !== null;
                keptFrom = to;
              }
              from = to;
            }
            if (buf.byteLength > keptFrom) {
              controller.enqueue(buf.subarray(keptFrom));
              delivered = true;
            }
          }
          if (delivered) return;
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
