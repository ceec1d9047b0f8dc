import { describe, expect, it } from "vitest";
import { reachableServices, reviveConfig, toDirectConfig } from "./workerd-config.mjs";

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
      { ...user("auth", 1, [{ name: "DB", wrapped: { moduleName: "cloudflare-internal:d1-api", innerBindings: [{ name: "fetcher", service: { name: "d1:db:entry" } }] } }]) },
      user("sink", 2),
      { name: "outbound:0", worker: { bindings: [{ name: "MINIFLARE_LOOPBACK", service: { name: "loopback" } }], globalOutbound: { name: "core:custom-fetch:0:$outbound" } } },
      { name: "outbound:1", worker: { bindings: [], globalOutbound: { name: "core:custom-fetch:1:$outbound" } } },
      { name: "outbound:2", worker: { bindings: [], globalOutbound: { name: "core:custom-fetch:2:$outbound" } } },
      { name: "core:custom-fetch:0:$outbound", worker: { bindings: [{ name: "MINIFLARE_LOOPBACK", service: { name: "loopback" } }] } },
      { name: "cache:0", worker: { bindings: [] } },
      { name: "cache:1", worker: { bindings: [] } },
      { name: "cache:2", worker: { bindings: [] } },
      { name: "d1:db:entry", worker: { bindings: [{ name: "MINIFLARE_OBJECT", durableObjectNamespace: { className: "D1DatabaseObject", serviceName: "d1:db" } }] } },
      { name: "d1:db", worker: { bindings: [{ name: "MINIFLARE_LOOPBACK", service: { name: "loopback" } }], durableObjectStorage: { localDisk: "d1:storage" } } },
      { name: "d1:storage", disk: { path: "/tmp/miniflare-abc/d1", writable: true } },
      { name: "loopback", external: { http: { cfBlobHeader: "MF-CF-Blob" } } },
      { name: "internet", network: { allow: ["public", "private"] } },
      { name: "core:entry", worker: { bindings: [{ name: "USER", service: { name: "core:user:gateway" } }, { name: "LOOPBACK", service: { name: "loopback" } }] } },
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
          { name: "b", worker: { durableObjectNamespaces: [{ className: "X", ephemeralLocal: kVoid }, { className: "Y", uniqueKey: "y" }] } },
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
