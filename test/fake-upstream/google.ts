import { recordings } from "./recordings";

/**
 * The fake upstream's Gemini API (`/v1beta/models/{model}:generateContent`,
 * `:streamGenerateContent?alt=sse`, `:batchEmbedContents`), answering with the recorded wire
 * formats in test/fixtures/google (JSON, and SSE framed with CRLF as Google sends it). Like the
 * real API it checks the `x-goog-api-key` (a wrong key is Google's 400 `API_KEY_INVALID`) and that
 * `contents` is present.
 *
 * Scenarios are chosen by the model name:
 *   …-error-429 | …-error-503 | …-not-found  → that recorded HTTP error
 *   …-safety           → a candidate stopped for SAFETY (JSON and SSE)
 *   …-prompt-blocked   → a prompt blocked outright (no candidates)
 *   …-max-tokens       → finishReason MAX_TOKENS (JSON)
 *   …-midstream-error  → a stream that sends text, then an error object
 *   …-truncated        → a stream that closes before any finishReason
 * Otherwise: a function call when tools are offered (and the mode is not NONE), else text.
 */

const { json, recorded, sse } = recordings("google", { boundary: /(?<=\r\n\r\n)/, headers: { "content-type": "text/event-stream" } });

export const GOOGLE_FAKE_KEY = "AIzaSyFakeUpstreamKey0000000000000000";

interface GenerateBody {
  contents?: unknown[];
  tools?: { functionDeclarations?: unknown[] }[];
  toolConfig?: { functionCallingConfig?: { mode?: string } };
}

interface BatchEmbedBody {
  requests?: { model?: string; content?: { parts?: { text?: string }[] }; outputDimensionality?: number }[];
}

const ROUTE = /^\/v1beta\/models\/([^/:]+):(generateContent|streamGenerateContent|batchEmbedContents)$/;

/** Answers Gemini API calls; null for any other request. */
export async function handleGoogle(request: Request): Promise<Response | null> {
  const url = new URL(request.url);
  const match = ROUTE.exec(url.pathname);
  if (request.method !== "POST" || !match) return null;
  const model = decodeURIComponent(match[1]!);
  const method = match[2]!;
  if (request.headers.get("x-goog-api-key") !== GOOGLE_FAKE_KEY || url.searchParams.has("key")) {
    return recorded("error-400-api-key-invalid.json");
  }
  const body = (await request.json().catch(() => null)) as (GenerateBody & BatchEmbedBody) | null;
  if (!body) return Response.json({ error: { code: 400, message: "Invalid JSON payload received.", status: "INVALID_ARGUMENT" } }, { status: 400 });

  if (model.endsWith("-error-429")) return recorded("error-429-resource-exhausted.json");
  if (model.endsWith("-error-503")) return recorded("error-503-unavailable.json");
  if (model.endsWith("-not-found")) return recorded("error-404-model-not-found.json");

  if (method === "batchEmbedContents") return embed(body);
  if (!Array.isArray(body.contents) || body.contents.length === 0) return recorded("error-400-invalid-argument.json");

  const stream = method === "streamGenerateContent";
  if (stream && url.searchParams.get("alt") !== "sse") {
    return Response.json({ error: { code: 400, message: "the fake upstream only streams with alt=sse", status: "INVALID_ARGUMENT" } }, { status: 400 });
  }
  if (model.endsWith("-midstream-error")) return sse("stream-error.sse");
  if (model.endsWith("-truncated")) return sse("stream-truncated.sse");
  if (model.endsWith("-safety")) return stream ? sse("stream-safety.sse") : Response.json(json("generate-safety-blocked-candidate.json"));
  if (model.endsWith("-prompt-blocked")) return Response.json(json("generate-prompt-blocked.json"));
  if (model.endsWith("-max-tokens")) return Response.json(json("generate-max-tokens.json"));

  const declarations = (body.tools ?? []).flatMap((t) => t.functionDeclarations ?? []);
  const wantsTool = declarations.length > 0 && body.toolConfig?.functionCallingConfig?.mode !== "NONE";
  if (wantsTool) return stream ? sse("stream-function-call.sse") : Response.json(json("generate-function-call-text.json"));
  return stream ? sse("stream-text.sse") : Response.json(json("generate-text.json"));
}

/** One deterministic vector per request, of the asked dimensionality (the recorded one has 4). */
function embed(body: BatchEmbedBody): Response {
  const requests = body.requests ?? [];
  if (requests.length === 0) {
    return Response.json({ error: { code: 400, message: "* BatchEmbedContentsRequest.requests: requests is required", status: "INVALID_ARGUMENT" } }, { status: 400 });
  }
  const recordedVectors = (json("batch-embed.json") as { embeddings: { values: number[] }[] }).embeddings;
  const embeddings = requests.map((r, i) => {
    const base = recordedVectors[i % recordedVectors.length]!.values;
    const size = r.outputDimensionality ?? base.length;
    return { values: Array.from({ length: size }, (_, k) => base[k % base.length]!) };
  });
  return Response.json({ embeddings });
}
