/**
 * The bench's zero-delay OpenAI-compatible upstream: a Worker in the same workerd as the stack, so
 * what is measured never waits on a slow fake. It answers like the system tests' fake upstream,
 * from the same recorded fixtures and renderer (test/fake-upstream/wire.mjs): the same request gets
 * the same bytes. Each distinct answer is rendered once and then served from memory.
 */
import { defaultFixture, renderEvents, renderJson } from "../../test/fake-upstream/wire.mjs";

/** @type {Map<string, string>} */
const rendered = new Map();

/** @param {string} key @param {() => string} render */
function once(key, render) {
  let body = rendered.get(key);
  if (body === undefined) rendered.set(key, (body = render()));
  return body;
}

const SSE_HEADERS = { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" };
const JSON_HEADERS = { "content-type": "application/json" };

export default {
  /** @param {Request} request */
  async fetch(request) {
    const { pathname } = new URL(request.url);
    if (request.method === "GET") return Response.json({ ok: true });
    if (request.method !== "POST" || !pathname.endsWith("/chat/completions")) {
      return Response.json({ error: { message: `Unknown path ${pathname}`, type: "invalid_request_error", param: null, code: null } }, { status: 404 });
    }
    /** @type {Record<string, any>} */
    const body = await request.json();
    const fixture = defaultFixture("chat", body);
    if (body.stream !== true)
      return new Response(
        once(fixture, () => renderJson(fixture)),
        { headers: JSON_HEADERS },
      );
    const options = body.stream_options ?? {};
    const key = `${fixture}:stream:${options.include_usage === true}:${options.include_obfuscation !== false}`;
    return new Response(
      once(key, () => renderEvents(fixture, body).join("")),
      { headers: SSE_HEADERS },
    );
  },
};
