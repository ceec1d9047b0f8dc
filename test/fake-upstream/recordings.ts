import { readFileSync } from "node:fs";

/** A recorded HTTP error: status, headers and body as the provider sent them. */
type Recording = { status: number; headers: Record<string, string>; body: unknown };

interface SseFraming {
  /** Where one event ends (Anthropic frames with `\n\n`, Google with `\r\n\r\n`). */
  boundary: RegExp;
  /** The headers the provider streams with. */
  headers: Record<string, string>;
}

/**
 * Replays the recorded wire formats in test/fixtures/<dir>/ as the real upstream sends them:
 * `json` a recorded body, `recorded` a recorded HTTP error response, `sse` a recorded stream sent
 * event by event as separate network writes.
 */
export function recordings(dir: string, framing: SseFraming) {
  const base = new URL(`../fixtures/${dir}/`, import.meta.url);
  const fixture = (name: string) => readFileSync(new URL(name, base), "utf8");
  const json = (name: string) => JSON.parse(fixture(name)) as unknown;

  function recorded(name: string): Response {
    const r = json(name) as Recording;
    return new Response(JSON.stringify(r.body), { status: r.status, headers: r.headers });
  }

  function sse(name: string): Response {
    const events = fixture(name).split(framing.boundary);
    const enc = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const next = events.shift();
        if (next === undefined) return controller.close();
        controller.enqueue(enc.encode(next));
        await new Promise((r) => setTimeout(r, 1));
      },
    });
    return new Response(body, { headers: framing.headers });
  }

  return { json, recorded, sse };
}
