// Turns the workerd config Miniflare generates for the stack (dumped as JSON through
// MINIFLARE_WORKERD_CONFIG_DEBUG) into one that `workerd serve` runs with Node off the request path.
// Pure functions, no I/O: see workerd-config.test.mjs.
//
// What Miniflare's config puts between a request and our code, and what this file does about it:
// - Every public request enters `core:entry` (routing, request logging through Node, pretty
//   errors). Here, each listened Worker gets its own socket instead.
// - Every outbound `fetch()` of a user Worker goes `outbound:N` → `core:custom-fetch:N` →
//   the `loopback` external service, i.e. Node's HTTP server, which then makes the real request.
//   Here, user Workers' `globalOutbound` is workerd's own `internet` network service.
// - Every user Worker has a streaming tail into Miniflare's observability collector. Dropped.
// - `structuredLogging` makes workerd wrap every log line in JSON for Node to parse. Off.
// - Miniflare's binding Workers (D1, KV, Queues) keep a `loopback` binding (used for logs, e.g.
//   queue deliveries). Here `loopback` is a Worker inside workerd (the bench's sink), not Node.
// Bindings themselves (D1/KV/R2/Queues/Durable Objects, service bindings) are left exactly as
// Miniflare built them: they are Workers and storage inside workerd already.
// splitOffWorker then moves one listened Worker (the bench's upstream) into a config of its own,
// for a second workerd process.

/** Prefix of the services Miniflare creates for user Workers (`core:user:<name>`). */
export const USER_PREFIX = "core:user:";
/** Miniflare's observability collector: a user-looking Worker that is not ours. */
const COLLECTOR = `${USER_PREFIX}miniflare-observability-collector`;

/**
 * JSON.stringify loses two things in Miniflare's config: `Uint8Array` values (they become
 * `{"0":…,"1":…}`) and the capnp Void marker `kVoid` (a Symbol; the key disappears, so
 * `{ inMemory: kVoid }` becomes `{}`). Restores both so the config encodes to what Miniflare sent.
 *
 * @param {any} config parsed JSON dump
 * @param {symbol} kVoid Miniflare's Void marker (exported by `miniflare`)
 */
export function reviveConfig(config, kVoid) {
  /** @type {(value: any, key: string) => any} */
  const revive = (value, key) => {
    if (Array.isArray(value)) return value.map((v) => revive(v, ""));
    if (value === null || typeof value !== "object") return value;
    const keys = Object.keys(value);
    if (keys.length > 0 && keys.every((k, i) => k === String(i)) && keys.every((k) => Number.isInteger(value[k]) && value[k] >= 0 && value[k] < 256)) {
      return Uint8Array.from(keys.map((k) => value[k]));
    }
    if (key === "durableObjectStorage" && keys.length === 0) return { inMemory: kVoid };
    /** @type {Record<string, any>} */
    const out = {};
    for (const k of keys) out[k] = revive(value[k], k);
    return out;
  };
  const revived = revive(config, "");
  for (const service of revived.services ?? []) {
    for (const ns of service.worker?.durableObjectNamespaces ?? []) {
      // `ephemeralLocal: kVoid` is the other arm of this union and is lost the same way.
      if (ns.uniqueKey === undefined) ns.ephemeralLocal = kVoid;
    }
  }
  return revived;
}

/**
 * @typedef {object} DirectOptions
 * @property {Record<string, number>} listen user Worker name → port on 127.0.0.1 it serves directly
 * @property {string} sinkWorker user Worker name whose code replaces Node's `loopback` service
 * @property {(path: string) => string} mapDisk where each on-disk store of the config now lives
 */

/**
 * The config the bench serves: see the file comment for each change.
 *
 * @param {any} config a revived Miniflare config (not mutated)
 * @param {DirectOptions} options
 */
export function toDirectConfig(config, options) {
  /** @type {any[]} */
  const services = deepClone(config.services);
  const byName = new Map(services.map((s) => [s.name, s]));
  const need = (/** @type {string} */ name) => {
    const s = byName.get(name);
    if (!s) throw new Error(`the captured config has no service "${name}"`);
    return s;
  };

  for (const s of services) {
    if (!s.name.startsWith(USER_PREFIX) || s.name === COLLECTOR) continue;
    const w = s.worker;
    w.globalOutbound = { name: "internet" };
    delete w.streamingTails;
    delete w.tails;
    delete w.containerEngine; // no containers here; keeps workerd from probing for Docker
  }
  const loopback = need("loopback");
  delete loopback.external;
  loopback.worker = deepClone(need(USER_PREFIX + options.sinkWorker).worker);
  for (const s of services) {
    if (s.disk?.path) s.disk.path = options.mapDisk(s.disk.path);
  }

  const sockets = Object.entries(options.listen).map(([worker, port]) => {
    need(USER_PREFIX + worker);
    return { name: `bench-${worker}`, address: `127.0.0.1:${port}`, http: {}, service: { name: USER_PREFIX + worker } };
  });
  const reachable = reachableServices(
    services,
    sockets.map((s) => s.service.name),
  );
  return {
    ...config,
    services: services.filter((s) => reachable.has(s.name)),
    sockets,
    structuredLogging: false,
  };
}

/**
 * Splits a direct config (toDirectConfig's result) into two `workerd serve` configs: `alone` serves
 * only `worker` on its socket, `rest` serves every other socket. Why: workerd runs a process's
 * Workers on one thread, so a Worker that stands in for something outside what is measured (the
 * bench's upstream) gets its own process and is reached over TCP by URL, as from any other client.
 *
 * `alone` holds the Worker and only what it reaches once its Cache API outbound is dropped (in
 * Miniflare's config that leads to a cache Durable Object whose storage `rest` also uses; two
 * processes must not share it). In `rest`, a binding that still names `worker` (Miniflare's Queue
 * broker binds every user Worker, for delivering to consumers) now names a stand-in of the same name:
 * an external service at `worker`'s socket, so the binding stays valid and any call through it
 * reaches the other process over TCP. Settings other than services and sockets (extensions,
 * autogates, v8 flags) stay the same in both.
 *
 * @param {any} config a direct config (not mutated)
 * @param {string} worker user Worker name, listened on a socket of `config`
 * @returns {{ rest: any, alone: any }}
 */
export function splitOffWorker(config, worker) {
  const name = USER_PREFIX + worker;
  /** @type {any[]} */
  const sockets = config.sockets ?? [];
  const own = sockets.filter((s) => s.service?.name === name);
  if (own.length === 0) throw new Error(`no socket serves "${name}"`);
  const others = sockets.filter((s) => s.service?.name !== name);

  const restNames = reachableServices(
    config.services,
    others.map((s) => s.service.name),
  );
  const standIn = { name, external: { address: own[0].address, http: {} } };

  /** @type {any[]} */
  const services = deepClone(config.services).map((/** @type {any} */ s) => {
    if (s.name !== name) return s;
    const { cacheApiOutbound: _cache, ...w } = s.worker;
    return { ...s, worker: w };
  });
  const aloneNames = reachableServices(services, [name]);
  return {
    rest: {
      ...config,
      services: deepClone(config.services.filter((/** @type {any} */ s) => restNames.has(s.name))).map((/** @type {any} */ s) =>
        s.name === name ? standIn : s,
      ),
      sockets: deepClone(others),
    },
    alone: { ...config, services: services.filter((s) => aloneNames.has(s.name)), sockets: deepClone(own) },
  };
}

/**
 * Names of the services reachable from `roots` through any reference in a service's config
 * (bindings, outbounds, Durable Object namespaces, storage). Miniflare's dev-only services
 * (entry, explorer, collector, dev registry, custom-fetch shims) fall away because nothing we keep
 * points at them.
 *
 * @param {any[]} services
 * @param {string[]} roots
 */
export function reachableServices(services, roots) {
  const byName = new Map(services.map((s) => [s.name, s]));
  const seen = new Set(roots);
  const queue = [...roots];
  while (queue.length > 0) {
    const service = byName.get(/** @type {string} */ (queue.pop()));
    if (!service) continue;
    walkStrings(service.worker ?? {}, (str, key) => {
      if (key === "esModule" || key === "commonJsModule" || key === "serviceWorkerScript" || key === "text") return;
      if (byName.has(str) && !seen.has(str)) {
        seen.add(str);
        queue.push(str);
      }
    });
  }
  return seen;
}

/**
 * structuredClone refuses the kVoid Symbol; this keeps Symbols and Uint8Arrays as they are.
 * @template T @param {T} value @returns {T}
 */
function deepClone(value) {
  if (Array.isArray(value)) return /** @type {T} */ (value.map(deepClone));
  if (value instanceof Uint8Array) return /** @type {T} */ (value.slice());
  if (value && typeof value === "object") {
    return /** @type {T} */ (Object.fromEntries(Object.entries(value).map(([k, v]) => [k, deepClone(v)])));
  }
  return value;
}

/** @param {any} value @param {(s: string, key: string) => void} visit @param {string} [key] */
function walkStrings(value, visit, key = "") {
  if (typeof value === "string") visit(value, key);
  else if (Array.isArray(value)) for (const v of value) walkStrings(v, visit, key);
  else if (value && typeof value === "object" && !(value instanceof Uint8Array)) {
    for (const [k, v] of Object.entries(value)) walkStrings(v, visit, k);
  }
}
