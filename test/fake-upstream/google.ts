import { recordings } from "./recordings";
import { requestFields } from "./schemas";

/**
 * The fake upstream's Gemini API (`/v1beta/models/{model}:generateContent`,
 * `:streamGenerateContent?alt=sse`, `:batchEmbedContents`), answering with the recorded wire
 * formats in test/fixtures/google (JSON, and SSE framed with CRLF as Google sends it). Like the
 * real API it checks the `x-goog-api-key` (a wrong key is Google's 400 `API_KEY_INVALID`), that
 * the body has no field the API does not define (Google's 400 `Unknown name "…"`, top level and in
 * `generationConfig`; the fields read from the installed Google SDKs, schemas.ts) and that
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

/** Google's error body for a status (its recorded body where the fixtures have one). */
export function googleStatusError(status: number): Response {
  const name = {
    400: "error-400-invalid-argument.json",
    404: "error-404-model-not-found.json",
    429: "error-429-resource-exhausted.json",
    503: "error-503-unavailable.json",
  }[status];
  if (name) return recorded(name);
  const code = { 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 500: "INTERNAL", 504: "DEADLINE_EXCEEDED" }[status] ?? "INTERNAL";
  const message =
    code === "INTERNAL" ? "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting" : code;
  return Response.json({ error: { code: status, message, status: code } }, { status });
}

/** Protobuf JSON takes a field by its JSON (lowerCamel) name or its proto (snake_case) name. */
const camel = (name: string) => name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** Google's 400 for the first field its proto does not define ("at '<field>'" when nested), or null. */
function unknownField(body: Record<string, unknown>, method: string): Response | null {
  const check = (object: unknown, fields: ReadonlySet<string>, at: string | null): Response | null => {
    if (typeof object !== "object" || object === null || Array.isArray(object)) return null;
    const name = Object.keys(object).find((k) => !fields.has(camel(k)));
    if (name === undefined) return null;
    const message = `Invalid JSON payload received. Unknown name "${name}"${at ? ` at '${at}'` : ""}: Cannot find field.`;
    const details = [{ "@type": "type.googleapis.com/google.rpc.BadRequest", fieldViolations: [{ ...(at ? { field: at } : {}), description: message }] }];
    return Response.json({ error: { code: 400, message, status: "INVALID_ARGUMENT", details } }, { status: 400 });
  };
  if (method === "batchEmbedContents") return check(body, requestFields("geminiBatchEmbed"), null);
  return (
    check(body, requestFields("geminiGenerate"), null) ??
    check(body["generationConfig"] ?? body["generation_config"], requestFields("geminiGenerationConfig"), "generation_config")
  );
}

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
  const unknown = unknownField(body as Record<string, unknown>, method);
  if (unknown) return unknown;

  if (model.endsWith("-error-429")) return googleStatusError(429);
  if (model.endsWith("-error-503")) return googleStatusError(503);
  if (model.endsWith("-not-found")) return googleStatusError(404);

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
    return Response.json(
      { error: { code: 400, message: "* BatchEmbedContentsRequest.requests: requests is required", status: "INVALID_ARGUMENT" } },
      { status: 400 },
    );
  }
  const recordedVectors = (json("batch-embed.json") as { embeddings: { values: number[] }[] }).embeddings;
  const embeddings = requests.map((r, i) => {
    const base = recordedVectors[i % recordedVectors.length]!.values;
    const size = r.outputDimensionality ?? base.length;
    return { values: Array.from({ length: size }, (_, k) => base[k % base.length]!) };
  });
  return Response.json({ embeddings });
}
