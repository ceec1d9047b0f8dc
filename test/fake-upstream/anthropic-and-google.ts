import type { IncomingMessage, ServerResponse } from "node:http";
import { anthropicStatusError, handleAnthropic, type AnthropicKnobs } from "./anthropic";
import { chunksOf, writeAnswer, type FaultKnobs } from "./faults";
import { googleStatusError, handleGoogle } from "./google";

/**
 * Plugs the Anthropic and Gemini wire formats (anthropic.ts, google.ts) into the fake upstream's
 * Node server: their handlers speak Web Request/Response, this turns one into the other and
 * applies the server's knobs exactly as for OpenAI (faults.ts), with each vendor's own error body.
 */
export interface NativeKnobs extends FaultKnobs, AnthropicKnobs {
  /** Answer a valid request with this error (body defaults to the vendor's own for the status). */
  error?: { status: number; body?: unknown; headers?: Record<string, string> };
}

const GEMINI_PATH = /^\/v1beta\/models\/([^/:?]+):/;

/** Gemini names the model in the path, not the body: recordings are keyed by it. */
export function geminiModelOf(url: string | undefined): string | null {
  const match = GEMINI_PATH.exec(url ?? "");
  return match ? decodeURIComponent(match[1]!) : null;
}

function headersOf(response: Response): Record<string, string> {
  const out: Record<string, string> = {};
  response.headers.forEach((v, k) => (out[k] = v));
  return out;
}

const VENDORS = [
  { answer: (r: Request, knobs: NativeKnobs) => handleAnthropic(r, knobs), error: anthropicStatusError },
  { answer: (r: Request) => handleGoogle(r), error: googleStatusError },
];

/** Answers an Anthropic or Gemini request; false when the request is neither (OpenAI's, then). */
export async function answerNative(
  req: IncomingMessage,
  res: ServerResponse,
  bodyText: string,
  knobs: NativeKnobs,
  hold: () => Promise<void>,
): Promise<boolean> {
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers.set(k, v);
  const request = new Request(`http://fake-upstream${req.url ?? "/"}`, { method: req.method, headers, body: req.method === "POST" ? bodyText : undefined });
  for (const vendor of VENDORS) {
    let response = await vendor.answer(request.clone(), knobs);
    if (!response) continue;
    // A request the API refuses is refused before any knob, as the real API validates first.
    if (response.ok && knobs.error) {
      const { status, body, headers: extra = {} } = knobs.error;
      const base = body === undefined ? vendor.error(status) : Response.json(body, { status });
      response = new Response(base.body, { status, headers: { ...headersOf(base), ...extra } });
    }
    if (!response.ok) {
      res.writeHead(response.status, headersOf(response));
      res.end(Buffer.from(await response.arrayBuffer()));
      return true;
    }
    if (knobs.hang) return true;
    if (knobs.delayMs) await new Promise((r) => setTimeout(r, knobs.delayMs));
    await writeAnswer(res, response.status, headersOf(response), response.body ? chunksOf(response.body) : [], knobs, hold);
    return true;
  }
  return false;
}
