import { describe, expect, it } from "vitest";
import { Breakers, circuitConfigFrom } from "./breaker";
import { memoryCircuitStore } from "./test-support";

const cfg = { threshold: 2, windowMs: 60_000, cooldownMs: 1_000, probeLeaseMs: 5_000 };

function setup() {
  let t = 1_000_000;
  const clock = { now: () => t, advance: (ms: number) => (t += ms) };
  const circuits = memoryCircuitStore(clock.now);
  const background: Promise<unknown>[] = [];
  const run = (p: Promise<unknown>) => void background.push(p);
  const flush = () => Promise.all(background.splice(0));
  return { clock, circuits, run, flush, breakers: () => new Breakers(circuits.store, cfg, clock.now) };
}

describe("Breakers", () => {
  it("lets a healthy target through without waiting on the circuit object", async () => {
    const s = setup();
    const b = s.breakers();
    expect(await b.gate("p/m", s.run)).toEqual({ allowed: true, probe: false, retryAt: 0 });
    // Only a background refresh, not awaited by the request.
    expect(s.circuits.calls).toEqual(["state:p/m"]);
    await s.flush();
    await b.gate("p/m", s.run);
    b.success("p/m", false, s.run);
    expect(s.circuits.calls).toEqual(["state:p/m"]);
  });

  it("opens after the threshold, skips without any call while cooling down, then admits one probe", async () => {
    const s = setup();
    const b = s.breakers();
    await b.failure("p/m");
    expect(b.peek("p/m")?.phase).toBe("closed");
    await b.failure("p/m");
    expect(b.peek("p/m")?.phase).toBe("open");

    const calls = s.circuits.calls.length;
    expect(await b.gate("p/m", s.run)).toMatchObject({ allowed: false, retryAt: 1_001_000 });
    expect(s.circuits.calls.length).toBe(calls);

    s.clock.advance(1_000);
    expect(await b.gate("p/m", s.run)).toMatchObject({ allowed: true, probe: true });
    // A second request while the probe is out is still refused.
    expect(await b.gate("p/m", s.run)).toMatchObject({ allowed: false });

    b.success("p/m", true, s.run);
    await s.flush();
    expect(s.circuits.circuits.get("p/m")?.phase).toBe("closed");
    expect(await b.gate("p/m", s.run)).toMatchObject({ allowed: true, probe: false });
  });

  it("re-opens for another cool-down when the probe fails", async () => {
    const s = setup();
    const b = s.breakers();
    await b.failure("p/m");
    await b.failure("p/m");
    s.clock.advance(1_000);
    expect(await b.gate("p/m", s.run)).toMatchObject({ probe: true });
    await b.failure("p/m");
    expect(b.peek("p/m")).toMatchObject({ phase: "open", retryAt: s.clock.now() + 1_000 });
  });

  it("shares state across isolates: another isolate learns of an open circuit by refreshing", async () => {
    const s = setup();
    const long = { ...cfg, cooldownMs: 60_000 };
    const isolateA = new Breakers(s.circuits.store, long, s.clock.now);
    const isolateB = new Breakers(s.circuits.store, long, s.clock.now);
    await isolateB.gate("p/m", s.run); // B has seen the circuit closed
    await s.flush();
    await isolateA.failure("p/m");
    await isolateA.failure("p/m");
    // B's view is fresh for five seconds: B still lets a request through...
    s.clock.advance(1_000);
    expect(await isolateB.gate("p/m", s.run)).toMatchObject({ allowed: true });
    // ...once it is stale, B refreshes in the background and from then on skips the target.
    s.clock.advance(5_000);
    expect(await isolateB.gate("p/m", s.run)).toMatchObject({ allowed: true });
    await s.flush();
    expect(await isolateB.gate("p/m", s.run)).toMatchObject({ allowed: false });
  });

  it("fails open when the circuit objects cannot be reached", async () => {
    const failing = {
      state: () => Promise.reject(new Error("down")),
      admit: () => Promise.reject(new Error("down")),
      failure: () => Promise.reject(new Error("down")),
      success: () => Promise.reject(new Error("down")),
      take: () => Promise.reject(new Error("down")),
      usage: () => Promise.reject(new Error("down")),
    };
    const b = new Breakers(failing, cfg);
    const background: Promise<unknown>[] = [];
    await b.failure("p/m");
    expect(await b.gate("p/m", (p) => void background.push(p))).toMatchObject({ allowed: true });
    expect(await b.take("p/m", { rpm: 1 }, 10)).toEqual({ allowed: true, retryAt: 0 });
    await Promise.all(background);
  });
});

describe("circuitConfigFrom", () => {
  it("reads the vars and falls back to defaults for missing or invalid ones", () => {
    expect(circuitConfigFrom({ CIRCUIT_FAILURE_THRESHOLD: "3", CIRCUIT_COOLDOWN_MS: "500" })).toEqual({
      threshold: 3,
      windowMs: 60_000,
      cooldownMs: 500,
      probeLeaseMs: 60_000,
    });
    expect(circuitConfigFrom({ CIRCUIT_FAILURE_THRESHOLD: "0", CIRCUIT_COOLDOWN_MS: "x" })).toMatchObject({ threshold: 5, cooldownMs: 30_000 });
  });
});
