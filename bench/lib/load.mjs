// The load generator: autocannon (HTTP/1.1 keep-alive, one connection per simulated client) at a
// fixed concurrency. Every response time is recorded as a float (see stats.mjs).
// @ts-ignore -- autocannon ships no types; the one call below is typed by hand.
import autocannon from "autocannon";
import { summarize } from "./stats.mjs";

/**
 * @typedef {object} Target one request shape sent to one server
 * @property {string} url
 * @property {"GET"|"POST"} method
 * @property {Record<string, string>} headers
 * @property {string} [body]
 */

/**
 * @typedef {object} LoadResult
 * @property {number} connections
 * @property {number} requests responses received
 * @property {number} seconds wall time of the run
 * @property {number} rps responses per second
 * @property {ReturnType<typeof summarize> | null} latency null when no response was 2xx
 * @property {number[]} samples every 2xx response time, ms
 */

/**
 * Runs `target` at `connections` concurrent connections for `amount` requests or `seconds`.
 * Throws if any response is not 2xx or any request fails: a fast error is not a result.
 *
 * @param {Target} target
 * @param {{ connections: number, amount?: number, seconds?: number }} load
 * @returns {Promise<LoadResult>}
 */
export async function runLoad(target, { connections, amount, seconds }) {
  /** @type {number[]} */
  const samples = [];
  /** @type {Map<number, number>} */
  const bad = new Map();
  const started = process.hrtime.bigint();
  const instance = autocannon({
    url: target.url,
    method: target.method,
    headers: target.headers,
    body: target.body,
    connections,
    pipelining: 1,
    ...(amount ? { amount } : { duration: seconds ?? 5 }),
    timeout: 10,
  });
  instance.on(
    "response",
    (/** @type {unknown} */ _client, /** @type {number} */ statusCode, /** @type {number} */ _bytes, /** @type {number} */ responseTime) => {
      if (statusCode >= 200 && statusCode < 300) samples.push(responseTime);
      else bad.set(statusCode, (bad.get(statusCode) ?? 0) + 1);
    },
  );
  /** @type {any} */
  const result = await instance;
  const wall = Number(process.hrtime.bigint() - started) / 1e9;
  if (bad.size > 0 || result.errors > 0 || result.timeouts > 0) {
    const statuses = [...bad].map(([s, n]) => `${n}× ${s}`).join(", ");
    throw new Error(`${target.method} ${target.url}: ${statuses || "no bad statuses"}; ${result.errors} errors, ${result.timeouts} timeouts`);
  }
  // autocannon's own duration excludes its startup; requests/duration is what it reports as rate.
  const secondsRun = amount ? wall : result.duration;
  return {
    connections,
    requests: samples.length,
    seconds: secondsRun,
    rps: samples.length / secondsRun,
    latency: samples.length > 0 ? summarize(samples) : null,
    samples,
  };
}
