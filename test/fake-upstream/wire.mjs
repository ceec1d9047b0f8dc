// OpenAI's wire formats rendered from the recorded fixtures in test/fixtures/openai/. Platform
// neutral (no Node APIs): the fake upstream server uses it, and so can a Worker (the bench's
// zero-delay upstream). What it reproduces, as OpenAI sends it:
//   - non-stream bodies: pretty-printed JSON (2-space indent), as api.openai.com answers;
//   - streams: `data: <compact JSON>\n\n` per chunk, then `data: [DONE]\n\n`;
//   - with stream_options.include_usage: `"usage":null` on every chunk and a final usage-only
//     chunk (`choices: []`) before [DONE];
//   - with stream_options.include_obfuscation === false: no `obfuscation` field;
//   - embeddings: float arrays, or base64 of little-endian float32 with encoding_format "base64".
import chatText from "../fixtures/openai/chat-text.json" with { type: "json" };
import chatTools from "../fixtures/openai/chat-tools.json" with { type: "json" };
import chatJson from "../fixtures/openai/chat-json.json" with { type: "json" };
import chatReasoning from "../fixtures/openai/chat-reasoning.json" with { type: "json" };
import completionText from "../fixtures/openai/completion-text.json" with { type: "json" };
import embeddingsShape from "../fixtures/openai/embeddings.json" with { type: "json" };
import errors from "../fixtures/openai/errors.json" with { type: "json" };

export const FIXTURES = {
  "chat-text": chatText,
  "chat-tools": chatTools,
  "chat-json": chatJson,
  "chat-reasoning": chatReasoning,
  "completion-text": completionText,
};
export const ERRORS = errors;

/** The fixture a request gets unless a test picks one: tools → tool calls, JSON mode → JSON, else text. */
export function defaultFixture(operation, body) {
  if (operation === "completions") return "completion-text";
  if (Array.isArray(body.tools) && body.tools.length > 0 && body.tool_choice !== "none") return "chat-tools";
  const format = body.response_format?.type;
  if (format === "json_object" || format === "json_schema") return "chat-json";
  return "chat-text";
}

/** Non-stream body text. */
export function renderJson(fixtureName) {
  return JSON.stringify(FIXTURES[fixtureName].completion, null, 2);
}

/** The stream's events (each a full `data: …\n\n` string), [DONE] last. */
export function renderEvents(fixtureName, body) {
  const fixture = FIXTURES[fixtureName];
  const options = body.stream_options ?? {};
  const withUsage = options.include_usage === true;
  const obfuscate = options.include_obfuscation !== false;
  const shape = (chunk) => {
    const { obfuscation, ...rest } = chunk;
    const out = withUsage ? { ...rest, usage: null } : rest;
    return obfuscate && obfuscation !== undefined ? { ...out, obfuscation } : out;
  };
  const events = fixture.chunks.map((c) => `data: ${JSON.stringify(shape(c))}\n\n`);
  if (withUsage) {
    const first = fixture.chunks[0];
    const usageChunk = { id: first.id, object: first.object, created: first.created, model: first.model };
    if (first.service_tier !== undefined) usageChunk.service_tier = first.service_tier;
    if (first.system_fingerprint !== undefined) usageChunk.system_fingerprint = first.system_fingerprint;
    usageChunk.choices = [];
    usageChunk.usage = fixture.usage;
    events.push(`data: ${JSON.stringify(usageChunk)}\n\n`);
  }
  events.push("data: [DONE]\n\n");
  return events;
}

/** A deterministic unit-ish vector for a text: what a test can recompute to check the answer. */
export function vectorFor(text, dimensions) {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619) >>> 0;
  const out = [];
  for (let i = 0; i < dimensions; i++) {
    h = Math.imul(h ^ (h >>> 15), 2246822507) >>> 0;
    // Round through float32 so float and base64 encodings carry exactly the same numbers.
    out.push(Math.fround(((h % 20001) - 10000) / 10000));
  }
  return out;
}

/** Little-endian float32 bytes of a vector, base64 (what encoding_format "base64" returns). */
export function base64Of(vector) {
  const bytes = new Uint8Array(new Float32Array(vector).buffer);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

function inputsOf(input) {
  if (typeof input === "string") return [input];
  if (Array.isArray(input) && input.every((x) => typeof x === "number")) return [input.join(",")];
  return input.map((x) => (typeof x === "string" ? x : x.join(",")));
}

/** The embeddings body for a request: one vector per input, usage ~ 1 token per 4 characters. */
export function renderEmbeddings(body) {
  const dims = body.dimensions ?? embeddingsShape.dimensions;
  const texts = inputsOf(body.input);
  const tokens = texts.reduce((n, t) => n + Math.max(1, Math.ceil(t.length / 4)), 0);
  const data = texts.map((t, index) => {
    const v = vectorFor(t, dims);
    return { object: "embedding", index, embedding: body.encoding_format === "base64" ? base64Of(v) : v };
  });
  return JSON.stringify({ object: "list", data, model: embeddingsShape.model, usage: { prompt_tokens: tokens, total_tokens: tokens } }, null, 2);
}
