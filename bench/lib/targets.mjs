// The requests the bench sends: one OpenAI chat request per mode, addressed to each target.
import { portkeyHeaders } from "./portkey.mjs";
import { BENCH_MODEL, BENCH_PROVIDER } from "./setup.mjs";

/** The two modes the issue asks about: chat non-streamed and streamed. */
export const MODES = /** @type {const} */ ({ chat: false, "chat-stream": true });

const PATH = "/v1/chat/completions";
const JSON_CT = { "content-type": "application/json" };

/** @param {string} model @param {boolean} stream */
function chatBody(model, stream) {
  return JSON.stringify({ model, messages: [{ role: "user", content: "Say hello." }], max_tokens: 64, ...(stream ? { stream: true } : {}) });
}

/**
 * @param {{ upstream: string, floor: string, relay: string, gateway: string }} stack base URLs
 * @param {{ unlimitedKey: string, limitedKey: string }} keys
 * @param {boolean} stream
 * @returns {Record<"direct" | "floor" | "relay" | "chain" | "chain-limited", import("./load.mjs").Target>}
 */
export function chatTargets(stack, keys, stream) {
  const ours = (/** @type {string} */ key) => ({
    url: stack.gateway + PATH,
    method: /** @type {const} */ ("POST"),
    headers: { ...JSON_CT, authorization: `Bearer ${key}` },
    body: chatBody(`${BENCH_PROVIDER}/${BENCH_MODEL}`, stream),
  });
  return {
    direct: { url: stack.upstream + PATH, method: "POST", headers: JSON_CT, body: chatBody(BENCH_MODEL, stream) },
    floor: { url: stack.floor + PATH, method: "POST", headers: JSON_CT, body: chatBody(BENCH_MODEL, stream) },
    relay: { url: stack.relay + PATH, method: "POST", headers: JSON_CT, body: chatBody(BENCH_MODEL, stream) },
    chain: ours(keys.unlimitedKey),
    "chain-limited": ours(keys.limitedKey),
  };
}

/**
 * The same request through Portkey, which is told the upstream's base URL per request.
 * @param {string} portkeyUrl @param {string} upstream @param {boolean} stream
 * @returns {import("./load.mjs").Target}
 */
export function portkeyTarget(portkeyUrl, upstream, stream) {
  return { url: portkeyUrl + PATH, method: "POST", headers: { ...JSON_CT, ...portkeyHeaders(upstream) }, body: chatBody(BENCH_MODEL, stream) };
}

/**
 * The same request sent to another server.
 * @param {import("./load.mjs").Target} target @param {string} base
 * @returns {import("./load.mjs").Target}
 */
export function withBase(target, base) {
  return { ...target, url: base + new URL(target.url).pathname };
}
