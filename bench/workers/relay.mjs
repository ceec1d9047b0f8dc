/**
 * The topology's floor: three bare Workers chained the way ours are — an HTTP entry Worker, then
 * two service-binding hops, the last one fetching the upstream — with nothing else in them: no
 * auth, no validation, no routing, no metering. The hops use the transport ours use: every
 * request, streamed or not, goes as HTTP over the binding (`fetch`). The bench runs it as
 * `bench-relay` → `bench-relay-2` → `bench-relay-3`, so "relay − floor" is what the three-Worker
 * design itself costs in this runtime and "chain − relay" what our code costs on top of it.
 */
import { WorkerEntrypoint } from "cloudflare:workers";

/** @typedef {{ NEXT?: { fetch(request: Request): Promise<Response> }, UPSTREAM_URL?: string }} RelayEnv */

export class Relay extends WorkerEntrypoint {
  /** @param {Request} request */
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
    return next.fetch(
      new Request(url, { method: request.method, headers: { "content-type": contentType }, body: request.method === "GET" ? undefined : body }),
    );
  },
};
