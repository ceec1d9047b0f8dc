/**
 * The topology's floor: three bare Workers chained the way ours are (an HTTP entry Worker, then
 * two hops over service-binding RPC whose methods return a Response, the last one fetching the
 * upstream), with nothing else in them: no auth, no validation, no routing, no metering. The bench
 * runs it as `bench-relay` → `bench-relay-2` → `bench-relay-3`, so "relay − floor" is what the
 * three-Worker design itself costs in this runtime and "chain − relay" is what our code costs on
 * top of it.
 */
import { WorkerEntrypoint } from "cloudflare:workers";

/** @typedef {{ path: string, contentType: string, body: string }} Hop */
/** @typedef {{ NEXT?: { forward(hop: Hop): Promise<Response> }, UPSTREAM_URL?: string }} RelayEnv */

export class Relay extends WorkerEntrypoint {
  /** @param {Hop} hop */
  forward(hop) {
    return next(hop, /** @type {RelayEnv} */ (this.env));
  }
}

export default {
  /** @param {Request} request @param {RelayEnv} env */
  async fetch(request, env) {
    const url = new URL(request.url);
    return next({ path: url.pathname + url.search, contentType: request.headers.get("content-type") ?? "application/json", body: await request.text() }, env);
  },
};

/** @param {Hop} hop @param {RelayEnv} env */
function next(hop, env) {
  if (env.NEXT) return env.NEXT.forward(hop);
  return fetch(env.UPSTREAM_URL + hop.path, { method: "POST", headers: { "content-type": hop.contentType }, body: hop.body });
}
