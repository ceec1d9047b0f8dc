/**
 * The floor: the least a Worker in front of the upstream can do. It forwards every request to
 * UPSTREAM_URL unchanged and streams the answer back. The bench runs it under exactly the same
 * runtime config as the gateway chain, so "chain − floor" is the cost of our own code.
 */
export default {
  /** @param {Request} request @param {{ UPSTREAM_URL: string }} env */
  fetch(request, env) {
    const url = new URL(request.url);
    return fetch(new Request(env.UPSTREAM_URL + url.pathname + url.search, request));
  },
};
