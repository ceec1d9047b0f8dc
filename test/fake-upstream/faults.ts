import type { ServerResponse } from "node:http";

/**
 * The fake upstream's timing and failure knobs, applied the same way to every wire format
 * (OpenAI, Anthropic, Gemini; streamed or not), so a fault test of one format can be written for
 * any other. An answer is a list of events: each SSE event of a stream, or the whole body of a
 * non-streamed answer (one event). "After N events" counts events handed to the socket.
 */
export interface FaultKnobs {
  /** Wait this long before sending response headers. */
  delayMs?: number;
  /** Never answer (the gateway's timeout must fire). */
  hang?: boolean;
  /** After this many events, stop until the test calls `release()` on the gate. */
  holdAfter?: number;
  /** After this many events, destroy the connection (a broken answer). */
  breakAfter?: number;
  /** After this many events, keep the connection open and send nothing more. `0`: a silent body after the headers. */
  stallAfter?: number;
  /** Wait this long between events (a model generating tokens). */
  intervalMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sends the headers at once, then the events as the knobs say; `hold` waits on the test's gate. */
export async function writeAnswer(
  res: ServerResponse,
  status: number,
  headers: Record<string, string | number>,
  events: AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>,
  knobs: FaultKnobs,
  hold: () => Promise<void>,
): Promise<void> {
  res.writeHead(status, headers);
  res.flushHeaders();
  let i = 0;
  for await (const event of events) {
    if (knobs.intervalMs && i > 0) await sleep(knobs.intervalMs);
    if (i === knobs.holdAfter) await hold();
    if (i === knobs.breakAfter) {
      res.socket?.destroy();
      return;
    }
    if (i === knobs.stallAfter) return; // silent until the client leaves
    if (res.destroyed) return;
    // Wait until each event is handed to the socket, so "after N events" is exact.
    await new Promise<void>((resolve) => res.write(event, () => resolve()));
    i++;
  }
  res.end();
}

/** A Web response body as events (each chunk its producer enqueued); stops reading when the writer stops. */
export async function* chunksOf(body: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}
