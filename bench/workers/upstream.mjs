/**
 * Zero-delay OpenAI-compatible upstream for the bench, run as a Worker in the same workerd as the
 * stack so the thing being measured is never waiting on a slow fake. Answers
 * `POST /v1/chat/completions` with OpenAI's JSON or SSE wire format (placeholder canned bodies
 * until the recorded fixtures land).
 */
const created = 1_700_000_000;

/** @param {string} model */
function completion(model) {
  return {
    id: "chatcmpl-bench",
    object: "chat.completion",
    created,
    model,
    choices: [{ index: 0, message: { role: "assistant", content: "Hello! How can I help you today?", refusal: null }, logprobs: null, finish_reason: "stop" }],
    usage: { prompt_tokens: 12, completion_tokens: 9, total_tokens: 21, prompt_tokens_details: { cached_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0 } },
    system_fingerprint: "fp_bench",
  };
}

/** @param {string} model @param {boolean} includeUsage */
function sse(model, includeUsage) {
  const base = { id: "chatcmpl-bench", object: "chat.completion.chunk", created, model, system_fingerprint: "fp_bench" };
  const chunk = (/** @type {object} */ delta, /** @type {string|null} */ finish) =>
    ({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }], ...(includeUsage ? { usage: null } : {}) });
  /** @type {object[]} */
  const events = [
    chunk({ role: "assistant", content: "", refusal: null }, null),
    ...["Hello", "!", " How", " can", " I", " help", " you", " today", "?"].map((t) => chunk({ content: t }, null)),
    chunk({}, "stop"),
  ];
  if (includeUsage) events.push({ ...base, choices: [], usage: completion(model).usage });
  return events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join("") + "data: [DONE]\n\n";
}

export default {
  /** @param {Request} request */
  async fetch(request) {
    const { pathname } = new URL(request.url);
    if (request.method === "GET") return Response.json({ ok: true });
    if (pathname.endsWith("/chat/completions")) {
      /** @type {{ model?: string, stream?: boolean, stream_options?: { include_usage?: boolean } }} */
      const body = await request.json();
      const model = body.model ?? "gpt-4o-mini";
      if (body.stream) {
        return new Response(sse(model, body.stream_options?.include_usage === true), {
          headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" },
        });
      }
      return Response.json(completion(model));
    }
    return Response.json({ error: { message: `Unknown path ${pathname}`, type: "invalid_request_error", param: null, code: null } }, { status: 404 });
  },
};
