import { concatBytes, lastEventEnd, sseErrorEvent } from "../../../shared/src/openai";
import type { ApiErrorInit } from "../../../shared/src";

export interface StreamGuardOptions {
  /** Longest silence allowed between two upstream chunks before the stream is ended as timed out. */
  idleTimeoutMs: number;
  /** Error to end the stream with when the upstream goes silent. */
  timeoutError: () => ApiErrorInit;
  /** Error to end the stream with when reading the upstream fails. */
  brokenError: (cause: unknown) => ApiErrorInit;
  /** Stops the upstream request (called on timeout, on failure and when the reader cancels). */
  abortUpstream: (reason: unknown) => void;
  /** Stops reading the upstream from outside (the client went away: see contracts/client-link.ts). */
  stop?: AbortSignal;
}

const IDLE = Symbol("idle");

/**
 * Wraps an upstream SSE body so that it always ends cleanly for the client: if the upstream goes
 * silent for longer than the provider's timeout or its connection breaks, the stream ends with an
 * OpenAI error event instead of hanging or being cut. Chunks pass through as they arrive, except
 * that bytes of an incomplete event are held until the event is complete, so an error event never
 * lands inside half an event. A reader that cancels (client gone) cancels the upstream request.
 */
export function guardStream(body: ReadableStream<Uint8Array>, options: StreamGuardOptions): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let pending: Uint8Array = new Uint8Array(0);

  const fail = (controller: ReadableStreamDefaultController<Uint8Array>, error: ApiErrorInit, reason: unknown) => {
    options.abortUpstream(reason);
    reader.cancel(reason).catch(() => {});
    // An incomplete event cannot be finished: drop it, then end with the error.
    pending = new Uint8Array(0);
    controller.enqueue(sseErrorEvent(error));
    controller.close();
  };

  options.stop?.addEventListener("abort", () => {
    options.abortUpstream(options.stop!.reason);
    reader.cancel(options.stop!.reason).catch(() => {});
  });

  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        // Loop until something can be delivered: a pull that enqueues nothing is not called again.
        for (;;) {
          let timer: ReturnType<typeof setTimeout> | undefined;
          let result: ReadableStreamReadResult<Uint8Array> | typeof IDLE;
          try {
            result = await Promise.race([
              reader.read(),
              new Promise<typeof IDLE>((resolve) => {
                timer = setTimeout(() => resolve(IDLE), options.idleTimeoutMs);
              }),
            ]);
          } catch (err) {
            clearTimeout(timer);
            fail(controller, options.brokenError(err), err);
            return;
          }
          clearTimeout(timer);
          if (result === IDLE) {
            const error = options.timeoutError();
            fail(controller, error, new DOMException(error.message, "TimeoutError"));
            return;
          }
          if (result.done) {
            // A final event without its blank line is still delivered: the SSE parser dispatches it.
            if (pending.byteLength > 0) controller.enqueue(pending);
            controller.close();
            return;
          }
          const chunk = pending.byteLength > 0 ? concatBytes(pending, result.value) : result.value;
          const n = chunk.byteLength;
          const end = n >= 2 && chunk[n - 1] === 10 && chunk[n - 2] === 10 ? n : lastEventEnd(chunk);
          if (end === n) {
            pending = new Uint8Array(0);
            controller.enqueue(chunk);
            return;
          }
          if (end > 0) {
            pending = chunk.slice(end);
            controller.enqueue(chunk.subarray(0, end));
            return;
          }
          pending = chunk;
        }
      },
      cancel(reason) {
        options.abortUpstream(reason);
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
