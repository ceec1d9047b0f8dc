import type { IncomingMessage, ServerResponse } from "node:http";
import { handleAnthropic } from "./anthropic";
import { handleGoogle } from "./google";

/**
 * Plugs the Anthropic and Gemini wire formats (anthropic.ts, google.ts) into the fake upstream's
 * Node server: their handlers speak Web Request/Response, this turns one into the other and
 * honours the server's timing knobs (`delayMs`, `hang`, `breakAfter` events).
 */
export interface NativeKnobs {
  delayMs?: number;
  hang?: boolean;
  breakAfter?: number;
}

const GEMINI_PATH = /^\/v1beta\/models\/([^/:?]+):/;

/** Gemini names the model in the path, not the body: recordings are keyed by it. */
export function geminiModelOf(url: string | undefined): string | null {
  const match = GEMINI_PATH.exec(url ?? "");
  return match ? decodeURIComponent(match[1]!) : null;
}

/** Answers an Anthropic or Gemini request; false when the request is neither (OpenAI's, then). */
export async function answerNative(req: IncomingMessage, res: ServerResponse, bodyText: string, knobs: NativeKnobs = {}): Promise<boolean> {
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers.set(k, v);
  const request = new Request(`http://fake-upstream${req.url ?? "/"}`, { method: req.method, headers, body: req.method === "POST" ? bodyText : undefined });
  const response = (await handleAnthropic(request.clone())) ?? (await handleGoogle(request));
  if (!response) return false;
  if (knobs.hang) return true;
  if (knobs.delayMs) await new Promise((r) => setTimeout(r, knobs.delayMs));

  const out: Record<string, string> = {};
  response.headers.forEach((v, k) => (out[k] = v));
  res.writeHead(response.status, out);
  res.flushHeaders();
  if (!response.body) {
    res.end();
    return true;
  }
  const reader = response.body.getReader();
  for (let events = 0; ; events++) {
    const { done, value } = await reader.read();
    if (done) break;
    if (events === knobs.breakAfter) {
      res.socket?.destroy();
      return true;
    }
    if (res.destroyed) {
      await reader.cancel();
      return true;
    }
    res.write(value);
  }
  res.end();
  return true;
}
