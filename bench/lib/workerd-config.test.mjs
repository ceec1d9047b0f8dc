import { describe, expect, it } from "vitest";
import { reachableServices, reviveConfig, splitOffWorker, toDirectConfig } from "./workerd-config.mjs";

const kVoid = Symbol("kVoid");

/** A small config in the shape Miniflare generates (names and wiring as in a real dump). */
function miniflareLike() {
  const user = (/** @type {string} */ name, /** @type {number} */ i, /** @type {any[]} */ bindings = []) => ({
    name: `core:user:${name}`,
    worker: {
      modules: [{ name: "index.js", esModule: "export default {}" }],
      compatibilityDate: "2026-10-01",
      bindings,
      globalOutbound: { name: `outbound:${i}` },
      cacheApiOutbound: { name: `cache:${i}` },
      streamingTails: [{ name: "core:user:miniflare-observability-collector" }],
      containerEngine: { localDocker: { socketPath: "unix:///var/run/docker.sock" } },
    },
  });
  return {
    services: [
      user("gateway", 0, [
        { name: "AUTH", service: { name: "core:user:auth", entrypoint: "AuthService" } },
        { name: "LIMITER", durableObjectNamespace: { className: "RateLimiter", serviceName: "core:user:auth" } },
        { name: "NOT_A_REF", text: "core:entry" },
      ]),
      {
        ...user("auth", 1, [
          { name: "DB", wrapped: { moduleName: "cloudflare-internal:d1-api", innerBindings: [{ name: "fetcher", service: { name: "d1:db:entry" } }] } },
        ]),
      },
      user("sink", 2),
      {
        name: "outbound:0",
        worker: { bindings: [{ name: "MINIFLARE_LOOPBACK", service: { name: "loopback" } }], globalOutbound: { name: "core:custom-fetch:0:$outbound" } },
      },
      { name: "outbound:1", worker: { bindings: [], globalOutbound: { name: "core:custom-fetch:1:$outbound" } } },
      { name: "outbound:2", worker: { bindings: [], globalOutbound: { name: "core:custom-fetch:2:$outbound" } } },
      { name: "core:custom-fetch:0:$outbound", worker: { bindings: [{ name: "MINIFLARE_LOOPBACK", service: { name: "loopback" } }] } },
      { name: "cache:0", worker: { bindings: [] } },
      { name: "cache:1", worker: { bindings: [] } },
      { name: "cache:2", worker: { bindings: [] } },
      {
        name: "d1:db:entry",
        worker: { bindings: [{ name: "MINIFLARE_OBJECT", durableObjectNamespace: { className: "D1DatabaseObject", serviceName: "d1:db" } }] },
      },
      {
        name: "d1:db",
        worker: { bindings: [{ name: "MINIFLARE_LOOPBACK", service: { name: "loopback" } }], durableObjectStorage: { localDisk: "d1:storage" } },
      },
      { name: "d1:storage", disk: { path: "/tmp/miniflare-abc/d1", writable: true } },
      { name: "loopback", external: { http: { cfBlobHeader: "MF-CF-Blob" } } },
      { name: "internet", network: { allow: ["public", "private"] } },
      {
        name: "core:entry",
        worker: {
          bindings: [
            { name: "USER", service: { name: "core:user:gateway" } },
            { name: "LOOPBACK", service: { name: "loopback" } },
          ],
        },
      },
      { name: "core:user:miniflare-observability-collector", worker: { bindings: [] } },
    ],
    sockets: [{ name: "entry", service: { name: "core:entry" }, http: {} }],
    structuredLogging: true,
  };
}

const direct = () =>
  toDirectConfig(miniflareLike(), { listen: { gateway: 4100, sink: 4101 }, sinkWorker: "sink", mapDisk: (p) => p.replace("/tmp/miniflare-abc", "/state") });
const service = (/** @type {any} */ config, /** @type {string} */ name) => config.services.find((/** @type {any} */ s) => s.name === name);

describe("toDirectConfig", () => {
  it("serves each listened Worker on its own socket instead of Miniflare's entry Worker", () => {
    const c = direct();
    expect(c.sockets).toEqual([
      { name: "bench-gateway", address: "127.0.0.1:4100", http: {}, service: { name: "core:user:gateway" } },
      { name: "bench-sink", address: "127.0.0.1:4101", http: {}, service: { name: "core:user:sink" } },
    ]);
    expect(service(c, "core:entry")).toBeUndefined();
  });

  it("sends user Workers' outbound fetches straight to workerd's network, not through Node", () => {
    const c = direct();
    for (const name of ["core:user:gateway", "core:user:auth", "core:user:sink"]) {
      expect(service(c, name).worker.globalOutbound).toEqual({ name: "internet" });
    }
    expect(c.services.map((/** @type {any} */ s) => s.name).filter((/** @type {string} */ n) => /^(outbound|core:custom-fetch):/.test(n))).toEqual([]);
  });

  it("drops the tail into Miniflare's collector, containers and structured logging", () => {
    const c = direct();
    expect(service(c, "core:user:gateway").worker.streamingTails).toBeUndefined();
    expect(service(c, "core:user:gateway").worker.containerEngine).toBeUndefined();
    expect(service(c, "core:user:miniflare-observability-collector")).toBeUndefined();
    expect(c.structuredLogging).toBe(false);
  });

  it("turns Node's loopback service into the sink Worker, still bound where Miniflare's Workers use it", () => {
    const c = direct();
    const loopback = service(c, "loopback");
    expect(loopback.external).toBeUndefined();
    expect(loopback.worker.modules).toEqual(service(c, "core:user:sink").worker.modules);
    expect(loopback.worker.globalOutbound).toEqual({ name: "internet" });
    expect(service(c, "d1:db").worker.bindings[0].service.name).toBe("loopback");
  });

  it("keeps bindings exactly and everything they reach (D1 entry → object → storage), with storage moved", () => {
    const c = direct();
    expect(service(c, "core:user:gateway").worker.bindings).toEqual(miniflareLike().services[0]?.worker?.bindings);
    expect(service(c, "d1:db:entry")).toBeDefined();
    expect(service(c, "d1:storage").disk.path).toBe("/state/d1");
    expect(service(c, "cache:0")).toBeDefined(); // Cache API outbound stays as Miniflare built it
  });

  it("does not mutate the captured config", () => {
    const original = miniflareLike();
    const copy = JSON.stringify(original);
    toDirectConfig(original, { listen: { gateway: 1 }, sinkWorker: "sink", mapDisk: (p) => p });
    expect(JSON.stringify(original)).toBe(copy);
  });

  it("names a listened Worker that is not in the config", () => {
    expect(() => toDirectConfig(miniflareLike(), { listen: { nope: 1 }, sinkWorker: "sink", mapDisk: (p) => p })).toThrow(/core:user:nope/);
  });
});

describe("splitOffWorker", () => {
  /** The direct config with an upstream Worker listened beside the stack, wired as Miniflare wires a user Worker (Cache API outbound → cache object → its storage). */
  function withUpstream() {
    const base = miniflareLike();
    base.services.push(
      {
        name: "core:user:upstream",
        worker: {
          modules: [{ name: "upstream.js", esModule: "export default {}" }],
          compatibilityDate: "2026-10-01",
          bindings: [],
          globalOutbound: { name: "outbound:3" },
          cacheApiOutbound: { name: "cache:3" },
          streamingTails: [{ name: "core:user:miniflare-observability-collector" }],
          containerEngine: { localDocker: { socketPath: "unix:///var/run/docker.sock" } },
        },
      },
      { name: "outbound:3", worker: { bindings: [], globalOutbound: { name: "core:custom-fetch:3:$outbound" } } },
      {
        name: "cache:3",
        worker: { bindings: [{ name: "MINIFLARE_OBJECT", durableObjectNamespace: { className: "CacheObject", serviceName: "cache:cache" } }] },
      },
      {
        name: "cache:cache",
        worker: { bindings: [{ name: "MINIFLARE_LOOPBACK", service: { name: "loopback" } }], durableObjectStorage: { localDisk: "cache:storage" } },
      },
      { name: "cache:storage", disk: { path: "/tmp/miniflare-abc/cache", writable: true } },
    );
    // Every user Worker's Cache API outbound leads to the same cache object, as in Miniflare's config.
    const cache0 = /** @type {any} */ (base.services.find((s) => s.name === "cache:0"));
    cache0.worker.bindings = [{ name: "MINIFLARE_OBJECT", durableObjectNamespace: { className: "CacheObject", serviceName: "cache:cache" } }];
    return toDirectConfig(
      { ...base, extensions: [{ modules: [] }], v8Flags: ["--x"] },
      {
        listen: { gateway: 4100, sink: 4101, upstream: 4102 },
        sinkWorker: "sink",
        mapDisk: (p) => p.replace("/tmp/miniflare-abc", "/state"),
      },
    );
  }
  const names = (/** @type {any} */ config) => config.services.map((/** @type {any} */ s) => s.name).sort();

  it("serves the split-off Worker alone: its socket, itself and workerd's network, nothing that touches the stack's storage", () => {
    const { alone } = splitOffWorker(withUpstream(), "upstream");
    expect(alone.sockets).toEqual([{ name: "bench-upstream", address: "127.0.0.1:4102", http: {}, service: { name: "core:user:upstream" } }]);
    expect(names(alone)).toEqual(["core:user:upstream", "internet"]);
    expect(service(alone, "core:user:upstream").worker.globalOutbound).toEqual({ name: "internet" });
    expect(service(alone, "core:user:upstream").worker.cacheApiOutbound).toBeUndefined();
    expect(service(alone, "core:user:upstream").worker.modules).toEqual([{ name: "upstream.js", esModule: "export default {}" }]);
  });

  it("leaves everything else in the other config, without the split-off Worker or its socket", () => {
    const direct = withUpstream();
    const { rest } = splitOffWorker(direct, "upstream");
    expect(rest.sockets.map((/** @type {any} */ s) => s.name)).toEqual(["bench-gateway", "bench-sink"]);
    expect(service(rest, "core:user:upstream")).toBeUndefined();
    expect(service(rest, "cache:3")).toBeUndefined();
    expect(service(rest, "cache:cache").worker.durableObjectStorage).toEqual({ localDisk: "cache:storage" });
    expect(service(rest, "cache:storage").disk.path).toBe("/state/cache");
    expect(names(rest)).toEqual(names({ services: direct.services.filter((/** @type {any} */ s) => !["core:user:upstream", "cache:3"].includes(s.name)) }));
  });

  it("keeps the runtime settings the same in both processes", () => {
    const { rest, alone } = splitOffWorker(withUpstream(), "upstream");
    for (const c of [rest, alone]) {
      expect(c.extensions).toEqual([{ modules: [] }]);
      expect(c.v8Flags).toEqual(["--x"]);
      expect(c.structuredLogging).toBe(false);
    }
  });

  it("does not mutate the config it splits", () => {
    const direct = withUpstream();
    const copy = JSON.stringify(direct);
    splitOffWorker(direct, "upstream");
    expect(JSON.stringify(direct)).toBe(copy);
  });

  it("keeps a binding to the split-off Worker (Miniflare's Queue broker binds every user Worker), now reaching it over TCP", () => {
    const base = withUpstream();
    const broker = { name: "queues:queue", worker: { bindings: [{ name: "MINIFLARE_WORKER_upstream", service: { name: "core:user:upstream" } }] } };
    const { rest, alone } = splitOffWorker(
      {
        ...base,
        services: [...base.services, broker],
        sockets: [...base.sockets, { name: "q", address: "127.0.0.1:4104", http: {}, service: { name: "queues:queue" } }],
      },
      "upstream",
    );
    expect(service(rest, "queues:queue").worker.bindings).toEqual(broker.worker.bindings);
    expect(service(rest, "core:user:upstream")).toEqual({ name: "core:user:upstream", external: { address: "127.0.0.1:4102", http: {} } });
    expect(service(alone, "core:user:upstream").worker).toBeDefined();
  });

  it("names a Worker that no socket serves", () => {
    expect(() => splitOffWorker(direct(), "auth")).toThrow(/no socket serves "core:user:auth"/);
  });
});

describe("reachableServices", () => {
  it("ignores strings in text bindings and module sources that happen to equal a service name", () => {
    const seen = reachableServices(miniflareLike().services, ["core:user:gateway"]);
    expect(seen.has("core:entry")).toBe(false);
    expect(seen.has("core:user:auth")).toBe(true);
  });
});

describe("reviveConfig", () => {
  it("restores what JSON.stringify lost: byte arrays and capnp Void", () => {
    const dumped = JSON.parse(
      JSON.stringify({
        services: [
          { name: "a", worker: { bindings: [{ name: "SECRET", data: new Uint8Array([1, 2, 255]) }], durableObjectStorage: { inMemory: kVoid } } },
          {
            name: "b",
            worker: {
              durableObjectNamespaces: [
                { className: "X", ephemeralLocal: kVoid },
                { className: "Y", uniqueKey: "y" },
              ],
            },
          },
        ],
      }),
    );
    const revived = reviveConfig(dumped, kVoid);
    expect(revived.services[0].worker.bindings[0].data).toEqual(new Uint8Array([1, 2, 255]));
    expect(revived.services[0].worker.durableObjectStorage).toEqual({ inMemory: kVoid });
    expect(revived.services[1].worker.durableObjectNamespaces).toEqual([
      { className: "X", ephemeralLocal: kVoid },
      { className: "Y", uniqueKey: "y" },
    ]);
  });

  it("leaves ordinary objects and arrays of numbers alone", () => {
    const revived = reviveConfig({ services: [], v8Flags: [], autogates: [], http: {}, list: [1, 2] }, kVoid);
    expect(revived).toEqual({ services: [], v8Flags: [], autogates: [], http: {}, list: [1, 2] });
  });
});
