/**
 * Stands in for Miniflare's Node "loopback" server in the bench's runtime config. Miniflare's own
 * Workers (D1, KV, Queues) may call it for logging; the bench answers here, inside workerd, so Node
 * is never on the path, and counts the calls so the report can show how many happened.
 */
let calls = 0;
/** @type {Record<string, number>} */
const byPath = {};

export default {
  /** @param {Request} request */
  async fetch(request) {
    const { pathname } = new URL(request.url);
    if (pathname === "/__bench/loopback-calls") return Response.json({ calls, byPath });
    calls++;
    byPath[pathname] = (byPath[pathname] ?? 0) + 1;
    await request.arrayBuffer();
    return new Response(null, { status: 204 });
  },
};
