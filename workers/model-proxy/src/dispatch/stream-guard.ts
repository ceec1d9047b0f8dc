import { SseEventSplitter, sseErrorEvent } from "../../../shared/src/openai";
import type { ApiErrorInit } from "../../../shared/src";

export interface StreamGuardOptions {
  /** Longest silence allowed between two upstream chunks before the stream is ended as timed out. */
  idleTimeoutMs: number;
  /** Error to end the stream with when the upstream goes silent. */
  timeoutError: () => ApiErrorInit;
  /** Error to end the stream with when reading the upstream fails. */
  brokenError: (cause: unknown) => ApiErrorInit;
  /** Error to end the stream with when an event grows past `MAX_SSE_EVENT_BYTES` without ending. */
  eventTooLargeError: () => ApiErrorInit;
  /** Stops the upstream request (called on timeout, on failure and when the reader cancels). */
  abortUpstream: (reason: unknown) => void;
  /** Stops reading the upstream from outside (the client went away: see contracts/client-link.ts). */
  stop?: AbortSignal;
  /** Clock, for tests. */
  now?: () => number;
}

/**
 * Wraps an upstream SSE body so that it always ends cleanly for the client: if the upstream goes
 * silent for longer than the provider's timeout or its connection breaks, the stream ends with an
 * OpenAI error event instead of hanging or being cut. Chunks pass through as they arrive, except
 * that bytes of an incomplete event are held until the event is complete, so an error event never
 * lands inside half an event (and an event that grows past `MAX_SSE_EVENT_BYTES` without ending
 * ends the stream with an error). A reader that cancels (client gone) cancels the upstream request.
 *
 * The idle timeout is one watchdog timer per stream, not one per chunk: each chunk only records
 * when it arrived, and the timer, when it fires early, re-arms itself for the time that is left.
 */
export function guardStream(body: ReadableStream<Uint8Array>, options: StreamGuardOptions): ReadableStream<Uint8Array> {
  const now = options.now ?? Date.now;
  const reader = body.getReader();
  const splitter = new SseEventSplitter();
  let lastChunkAt = now();
  let watchdog: ReturnType<typeof setTimeout> | undefined;
  let ended: "timeout" | "stopped" | null = null;

  const stopReading = (why: "timeout" | "stopped", reason: unknown) => {
    if (ended) return;
    ended = why;
    clearTimeout(watchdog);
    options.abortUpstream(reason);
    // A pending read resolves as done; the pull below sees `ended` and finishes accordingly.
    reader.cancel(reason).catch(() => {});
  };
  const arm = (ms: number) => {
    watchdog = setTimeout(() => {
      const left = lastChunkAt + options.idleTimeoutMs - now();
      if (left > 0) arm(left);
      else stopReading("timeout", new DOMException(options.timeoutError().message, "TimeoutError"));
    }, ms);
  };
  arm(options.idleTimeoutMs);
  options.stop?.addEventListener("abort", () => stopReading("stopped", options.stop!.reason));

  const finish = (controller: ReadableStreamDefaultController<Uint8Array>, error: ApiErrorInit | null) => {
    clearTimeout(watchdog);
    // An incomplete event cannot be finished after an error: drop it, then end with the error.
    const rest = splitter.rest();
    if (error) controller.enqueue(sseErrorEvent(error));
    else if (rest) controller.enqueue(rest); // a last event without its blank line
    controller.close();
  };

  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        // Loop until something can be delivered: a pull that enqueues nothing is not called again.
        for (;;) {
          let result: ReadableStreamReadResult<Uint8Array>;
          try {
            result = await reader.read();
          } catch (err) {
            if (ended === "timeout") return finish(controller, options.timeoutError());
            if (ended === "stopped") return finish(controller, null);
            ended = "stopped";
            options.abortUpstream(err);
            return finish(controller, options.brokenError(err));
          }
          if (ended === "timeout") return finish(controller, options.timeoutError());
          if (result.done) return finish(controller, null);
          lastChunkAt = now();
          const runs = splitter.push(result.value);
          if (runs === null) {
            const error = options.eventTooLargeError();
            stopReading("stopped", new DOMException(error.message, "AbortError"));
            return finish(controller, error);
          }
          for (const run of runs) controller.enqueue(run);
          if (runs.length > 0) return;
        }
      },
      cancel(reason) {
        clearTimeout(watchdog);
        ended ??= "stopped";
        options.abortUpstream(reason);
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
