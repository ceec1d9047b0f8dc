import type { ApiErrorInit } from "../errors";
import { nextEventEnd, SseEventSplitter, sseEventTooLarge } from "../openai";
import { emptyObservation, type Observation } from "./observation";
import { ClientDeparture } from "./client-departure";

/**
 * What one dialect (OpenAI's chunks, Anthropic's events) knows about its streams; the pump knows
 * the rest. One inspector per stream: it may keep state across events.
 */
export interface SseInspector {
  /**
   * Reads one whole event (its bytes up to and including the blank line) into `seen`. Returns the
   * same bytes to pass it on untouched, other bytes to replace it, or null to drop it.
   */
  inspect(event: Uint8Array, seen: Observation): Uint8Array | null;
  /**
   * The upstream ended: `"complete"` when the stream ended as the dialect requires, bytes that
   * complete it (OpenAI's `[DONE]` after finished choices the upstream did not close), or
   * `"broken"` when it stopped short (the pump then ends it with the dialect's error event).
   */
  closing(seen: Observation): "complete" | "broken" | Uint8Array;
  /** The dialect's error event, the last event of a stream that failed mid-way. */
  errorEvent(init: ApiErrorInit): Uint8Array;
  /** Completes the observation once, just before `onEnd` (e.g. usage accumulated across events). */
  settle?(seen: Observation): void;
}

export interface SsePumpOptions {
  inspector: SseInspector;
  /** Provider name for the error event if the stream breaks, times out or an event is too large. */
  provider: string | null;
  /** Called exactly once: when the stream ended, failed, timed out or the client went away. */
  onEnd: (observation: Observation) => void;
  /**
   * Aborts when the client disconnected (the incoming request's signal). The runtime only cancels
   * a response body when a write to a gone client fails, which never happens while the upstream
   * is silent (a model still thinking); this ends the stream at once instead. The gateway passes
   * its request's one `ClientDeparture`, so the pump adds no listener of its own.
   */
  clientGone?: AbortSignal | ClientDeparture;
  /**
   * Longest wait for the upstream's next chunk (the provider's timeout, from model-proxy's
   * `x-gateway-idle-timeout-ms`): a stream that goes silent for longer ends with a timeout error
   * event, and `onEnd` reports an upstream error (the gateway then tells model-proxy to stop the
   * upstream call). Only time spent waiting on the upstream counts, not time the client takes.
   */
  idleTimeoutMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

/**
 * The one SSE pump of the gateway (docs/architecture.md, "The proxy kernel"): every proxied stream
 * reaches the client through it, whatever its dialect.
 * - **Byte framing**: bytes pass through as the upstream sent them, run by run of whole events; an
 *   incomplete event is held (as the chunks it came in) until its end arrives, so an event is
 *   never cut and an error event never lands inside half an event.
 * - **A bounded pending event**: one that grows past `MAX_SSE_EVENT_BYTES` without ending ends the
 *   stream with an error event and stops the upstream.
 * - **One re-arming idle watchdog** per stream (not a timer per chunk): each read records when it
 *   began waiting; the timer, when it fires early, re-arms itself for the time that is left.
 * - **The client-gone signal** ends the stream at once, also while the upstream is silent.
 * - **End exactly once**: whatever happens first (the upstream's end, a break, the timeout, the
 *   client leaving, a cancel), `onEnd` is called once with what was seen.
 * The inspector reads each event (usage, content, errors) and may drop or rewrite it, and decides
 * how a stream that ended short is completed. The stream always ends in a way the dialect's SDKs
 * understand, never as a silent truncation.
 */
export function pumpSse(body: ReadableStream<Uint8Array>, options: SsePumpOptions): ReadableStream<Uint8Array> {
  const { inspector, provider } = options;
  const reader = body.getReader();
  const seen = emptyObservation();
  const splitter = new SseEventSplitter();
  let ended = false;

  const now = options.now ?? Date.now;
  const idle = options.idleTimeoutMs !== undefined && options.idleTimeoutMs > 0 ? options.idleTimeoutMs : 0;
  let watchdog: ReturnType<typeof setTimeout> | undefined;
  let waitingSince: number | null = null;
  let timedOut = false;

  const end = () => {
    if (ended) return;
    ended = true;
    clearTimeout(watchdog);
    inspector.settle?.(seen);
    options.onEnd(seen);
  };

  const arm = (ms: number) => {
    watchdog = setTimeout(() => {
      if (ended) return;
      const left = waitingSince === null ? idle : waitingSince + idle - now();
      if (left > 0) return arm(left);
      timedOut = true;
      // The pending read resolves as done; the pull below ends the stream with the timeout.
      reader.cancel(new DOMException("upstream idle", "TimeoutError")).catch(() => {});
    }, ms);
  };
  if (idle > 0) arm(idle);

  const fail = (controller: ReadableStreamDefaultController<Uint8Array>, init: ApiErrorInit) => {
    seen.upstreamError = true;
    controller.enqueue(inspector.errorEvent(init));
    controller.close();
    end();
  };
  const broken = (controller: ReadableStreamDefaultController<Uint8Array>) =>
    fail(controller, { code: "upstream_error", message: `The stream${provider ? ` from provider '${provider}'` : ""} broke before it was complete.` });
  const timeout = (controller: ReadableStreamDefaultController<Uint8Array>) =>
    fail(controller, {
      code: "upstream_timeout",
      message: `${provider ? `Provider '${provider}'` : "The provider"} stopped sending for ${idle} ms; the stream was ended.`,
    });

  const gone = options.clientGone;
  (gone instanceof ClientDeparture ? gone : gone && new ClientDeparture(gone))?.onLeave((reason) => {
    if (ended) return;
    seen.aborted = true;
    end();
    // The pending read resolves as done and the pull below closes the (unread) response.
    reader.cancel(reason).catch(() => {});
  });

  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        // Loop until something can be delivered: a pull that enqueues nothing is not called again.
        for (;;) {
          let result: ReadableStreamReadResult<Uint8Array>;
          waitingSince = now();
          try {
            result = await reader.read();
          } catch {
            // A read that fails after the pump cancelled it (client gone, timeout) is not a break.
            if (seen.aborted) {
              controller.close();
              end();
            } else if (timedOut) timeout(controller);
            else broken(controller);
            return;
          } finally {
            waitingSince = null;
          }
          if (result.done) {
            if (seen.aborted) {
              controller.close();
              return;
            }
            if (timedOut) return timeout(controller);
            const rest = splitter.rest();
            const last = rest ? inspector.inspect(rest, seen) : null;
            if (last) controller.enqueue(last);
            const closing = seen.upstreamError ? "complete" : inspector.closing(seen);
            if (closing === "broken") return broken(controller);
            if (closing !== "complete") controller.enqueue(closing);
            controller.close();
            end();
            return;
          }
          seen.firstByteAt ??= Date.now();
          const runs = splitter.push(result.value);
          if (runs === null) {
            fail(controller, sseEventTooLarge(provider));
            reader.cancel(new DOMException("An upstream event was too large.", "AbortError")).catch(() => {});
            return;
          }
          let delivered = false;
          for (const buf of runs) {
            let from = 0;
            let keptFrom = 0;
            for (let to = nextEventEnd(buf, 0); to !== -1; to = nextEventEnd(buf, from)) {
              const event = buf.subarray(from, to);
              const out = inspector.inspect(event, seen);
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
