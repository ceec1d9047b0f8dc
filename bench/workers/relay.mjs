/**
 * The topology's floor: three bare Workers chained the way ours are — an HTTP entry Worker, then
 * two service-binding hops, the last one fetching the upstream — with nothing else in them: no
 * auth, no validation, no routing, no metering. The hops use the transports ours use: a request
 * that does not stream goes as HTTP over the binding (`fetch`), a stream by an RPC method that
 * returns a Response (ours needs RPC there to carry the client link). The bench runs it as
 * `bench-relay` → `bench-relay-2` → `bench-relay-3`, so "relay − floor" is what the three-Worker
 * design itself costs in this runtime and "chain − relay" what our code costs on top of it.
 */
import { WorkerEntrypoint } from "cloudflare:workers";

/** @typedef {{ path: string, contentType: string, body: string }} Hop */
/** @typedef {{ NEXT?: { forward(hop: Hop): Promise<Response>, fetch(request: Request): Promise<Response> }, UPSTREAM_URL?: string }} RelayEnv */

export class Relay extends WorkerEntrypoint {
  /** A stream, by RPC. @param {Hop} hop */
  forward(hop) {
    const env = /** @type {RelayEnv} */ (this.env);
    if (env.NEXT) return env.NEXT.forward(hop);
    return fetch(env.UPSTREAM_URL + hop.path, { method: "POST", headers: { "content-type": hop.contentType }, body: hop.body });
  }

  /** Anything else, as HTTP. @param {Request} request */
  fetch(request) {
    const env = /** @type {RelayEnv} */ (this.env);
    if (env.NEXT) return env.NEXT.fetch(request);
    const url = new URL(request.url);
    return fetch(new Request(env.UPSTREAM_URL + url.pathname + url.search, request));
  }
}

export default {
  /** @param {Request} request @param {RelayEnv} env */
  async fetch(request, env) {
    const next = /** @type {NonNullable<RelayEnv["NEXT"]>} */ (env.NEXT);
    const url = new URL(request.url);
    const body = await request.text();
    const contentType = request.headers.get("content-type") ?? "application/json";
    if (isStream(body)) return next.forward({ path: url.pathname + url.search, contentType, body });
    return next.fetch(
      new Request(url, { method: request.method, headers: { "content-type": contentType }, body: request.method === "GET" ? undefined : body }),
    );
  },
};

/** @param {string} body */
function isStream(body) {
  try {
    return JSON.parse(body)?.stream === true;
  } catch {
    return false;
  }
}
