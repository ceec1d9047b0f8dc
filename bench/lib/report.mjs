// From raw measurements to what the issue asks for: latency added over calling the upstream
// directly, throughput, and the ratios. Pure functions: see report.test.mjs.
import { summarize } from "./stats.mjs";

/**
 * @typedef {object} Measured one target in one mode
 * @property {number} p50 ms at concurrency 1
 * @property {number} p99 ms at concurrency 1
 * @property {number} n samples behind p50/p99
 * @property {number} rps responses per second at the throughput concurrency
 */

/**
 * @typedef {object} Skipped
 * @property {string} skipped why this target has no numbers
 */

/**
 * One target's numbers from its latency samples (every 2xx response time at concurrency 1) and its
 * throughput run, or why it has none: a target that answered nothing in a run (a gateway that
 * stopped responding mid-bench, say) is reported as skipped with the reason, not as a crash of the
 * whole bench.
 *
 * @param {number[]} latencySamples ms
 * @param {{ requests: number, rps: number, seconds: number, connections: number, latency: { p50: number, p99: number } | null }} throughput
 * @param {{ latencySeconds: number }} plan
 * @returns {Measured & { p50_at_concurrency: number, p99_at_concurrency: number } | Skipped}
 */
export function measurement(latencySamples, throughput, plan) {
  if (latencySamples.length === 0) return { skipped: `no 2xx response in ${plan.latencySeconds} s at concurrency 1` };
  if (throughput.requests === 0 || !throughput.latency) {
    return { skipped: `no 2xx response in ${round(throughput.seconds, 1)} s at concurrency ${throughput.connections}` };
  }
  const lat = summarize(latencySamples);
  return {
    p50: lat.p50,
    p99: lat.p99,
    n: lat.n,
    rps: throughput.rps,
    p50_at_concurrency: throughput.latency.p50,
    p99_at_concurrency: throughput.latency.p99,
  };
}

/** Targets in report order, and what each one is. */
export const TARGETS = /** @type {const} */ ({
  direct: "upstream called directly (the baseline)",
  floor: "bare forwarding Worker → upstream",
  relay: "three bare Workers chained like ours (HTTP → RPC → RPC → upstream), nothing else in them",
  "floor-miniflare": "the same floor Worker under Miniflare's own runtime config (createTestHarness / wrangler dev)",
  chain: "gateway → tail → model-proxy → upstream, unlimited key",
  "chain-limited": "the same with a rate-limited key (one limiter Durable Object call)",
  portkey: "Portkey's gateway on Node → upstream",
});

/** @param {Measured | Skipped | undefined} m @returns {m is Measured} */
export const isMeasured = (m) => m !== undefined && !("skipped" in m);

const round = (/** @type {number} */ x, digits = 3) => Number(x.toFixed(digits));

/**
 * Adds, per mode, each target's latency over `direct` and the ratios the targets are about.
 *
 * @param {Record<string, Measured | Skipped>} mode measurements by target name (needs `direct`)
 */
export function deriveMode(mode) {
  const direct = mode["direct"];
  if (!isMeasured(direct)) throw new Error("no direct measurement to compare against");
  /** @type {Record<string, Measured & { added_p50: number, added_p99: number } | Skipped>} */
  const targets = {};
  for (const [name, m] of Object.entries(mode)) {
    targets[name] = isMeasured(m) ? { ...m, added_p50: round(m.p50 - direct.p50), added_p99: round(m.p99 - direct.p99) } : m;
  }
  const floor = mode["floor"];
  const relay = mode["relay"];
  const chain = mode["chain"];
  const limited = mode["chain-limited"];
  const portkey = mode["portkey"];
  const both = (/** @type {any} */ a, /** @type {any} */ b) => isMeasured(a) && isMeasured(b);
  return {
    targets,
    /** What our own code costs: the chain's added latency minus the floor's (target: < 1 ms at p50). */
    chain_over_floor_p50_ms: both(chain, floor) ? round(/** @type {Measured} */ (chain).p50 - /** @type {Measured} */ (floor).p50) : null,
    chain_over_floor_p99_ms: both(chain, floor) ? round(/** @type {Measured} */ (chain).p99 - /** @type {Measured} */ (floor).p99) : null,
    /** What the three-Worker design costs by itself, before any of our code: relay − floor. */
    relay_over_floor_p50_ms: both(relay, floor) ? round(/** @type {Measured} */ (relay).p50 - /** @type {Measured} */ (floor).p50) : null,
    /** What our code costs on top of the design: chain − relay. */
    chain_over_relay_p50_ms: both(chain, relay) ? round(/** @type {Measured} */ (chain).p50 - /** @type {Measured} */ (relay).p50) : null,
    /** Throughput of the chain as a share of the relay's (targets: ≥ 0.75 chat, ≥ 0.60 stream). */
    chain_vs_relay_rps: both(chain, relay) ? round(/** @type {Measured} */ (chain).rps / /** @type {Measured} */ (relay).rps, 2) : null,
    /** Throughput of the chain as a share of the floor's. */
    chain_vs_floor_rps: both(chain, floor) ? round(/** @type {Measured} */ (chain).rps / /** @type {Measured} */ (floor).rps, 2) : null,
    /** The limiter's cost per request: rate-limited key minus unlimited key. */
    limiter_p50_ms: both(limited, chain) ? round(/** @type {Measured} */ (limited).p50 - /** @type {Measured} */ (chain).p50) : null,
    limiter_p99_ms: both(limited, chain) ? round(/** @type {Measured} */ (limited).p99 - /** @type {Measured} */ (chain).p99) : null,
    /** The rate-limited key's throughput as a share of the unlimited key's (target: ≥ 0.75). */
    limited_vs_unlimited_rps: both(limited, chain) ? round(/** @type {Measured} */ (limited).rps / /** @type {Measured} */ (chain).rps, 2) : null,
    /** Our chain's throughput over the Node gateway's (target: ≥ 3). */
    chain_vs_portkey_rps: both(chain, portkey) ? round(/** @type {Measured} */ (chain).rps / /** @type {Measured} */ (portkey).rps, 2) : null,
    /** The most any three-Worker chain reaches here, over the Node gateway's: the ceiling of the ratio above. */
    relay_vs_portkey_rps: both(relay, portkey) ? round(/** @type {Measured} */ (relay).rps / /** @type {Measured} */ (portkey).rps, 2) : null,
  };
}

/**
 * A plain-text table per mode, then the headline numbers.
 * @param {Record<string, ReturnType<typeof deriveMode>>} modes
 * @param {{ concurrency: number }} load
 */
export function renderTables(modes, { concurrency }) {
  const lines = [];
  const header = ["target", "p50 ms", "p99 ms", "added p50", "added p99", `req/s @${concurrency}`];
  for (const [modeName, mode] of Object.entries(modes)) {
    /** @type {string[][]} */
    const rows = [];
    const notes = [];
    for (const name of Object.keys(TARGETS)) {
      const m = mode.targets[name];
      if (!m) continue;
      if ("skipped" in m) {
        rows.push([name, "—", "—", "—", "—", "—"]);
        notes.push(`${name} skipped: ${m.skipped}`);
      } else {
        const added = (/** @type {number} */ x) => (name === "direct" ? "—" : signed(x));
        rows.push([name, m.p50.toFixed(3), m.p99.toFixed(3), added(m.added_p50), added(m.added_p99), Math.round(m.rps).toString()]);
      }
    }
    lines.push(`${modeName} (latency at concurrency 1; added = over calling the upstream directly)`);
    lines.push(...table(header, rows), "");
    lines.push(...[...headlines(mode), ...notes].map((f) => `  ${f}`), "");
  }
  return lines.join("\n");
}

/** @param {ReturnType<typeof deriveMode>} mode */
function headlines(mode) {
  const facts = [];
  if (mode.chain_over_floor_p50_ms !== null)
    facts.push(
      `chain − floor: ${signed(mode.chain_over_floor_p50_ms)} ms p50, ${signed(/** @type {number} */ (mode.chain_over_floor_p99_ms))} ms p99 (target: p50 < 1 ms)`,
    );
  if (mode.relay_over_floor_p50_ms !== null) facts.push(`the three-Worker design alone (relay − floor): ${signed(mode.relay_over_floor_p50_ms)} ms p50`);
  // A skipped chain leaves these null: say nothing rather than fail the report.
  if (mode.chain_over_relay_p50_ms !== null)
    facts.push(`our code on top of it (chain − relay): ${signed(mode.chain_over_relay_p50_ms)} ms p50 (target: ≤ 0.3 ms chat, ≤ 0.5 ms stream)`);
  if (mode.chain_vs_relay_rps !== null) facts.push(`throughput chain/relay: ${mode.chain_vs_relay_rps.toFixed(2)} (target: ≥ 0.75 chat, ≥ 0.60 stream)`);
  if (mode.chain_vs_floor_rps !== null) facts.push(`throughput chain/floor: ${mode.chain_vs_floor_rps.toFixed(2)}`);
  if (mode.limiter_p50_ms !== null)
    facts.push(
      `limiter adds per request: ${signed(mode.limiter_p50_ms)} ms p50, ${signed(/** @type {number} */ (mode.limiter_p99_ms))} ms p99 (target: p50 ≤ 0.3 ms)` +
        (mode.limited_vs_unlimited_rps === null ? "" : `; throughput limited/unlimited key: ${mode.limited_vs_unlimited_rps.toFixed(2)} (target: ≥ 0.75)`),
    );
  if (mode.chain_vs_portkey_rps !== null) facts.push(`throughput chain/Portkey: ${mode.chain_vs_portkey_rps.toFixed(2)}× (target: ≥ 3×)`);
  if (mode.relay_vs_portkey_rps !== null)
    facts.push(`throughput relay/Portkey: ${mode.relay_vs_portkey_rps.toFixed(2)}× (the three bare Workers, no code of ours)`);
  const floor = mode.targets["floor"];
  const mf = mode.targets["floor-miniflare"];
  if (isMeasured(floor) && isMeasured(mf)) {
    facts.push(
      `the floor under Miniflare's config adds ${signed(mf.added_p50)} ms p50 at ${Math.round(mf.rps)} req/s; under the bench's ${signed(floor.added_p50)} ms at ${Math.round(floor.rps)} req/s`,
    );
  }
  return facts;
}

/** @param {number} x */
const signed = (x) => (x >= 0 ? "+" : "") + x.toFixed(3);

/** @param {string[]} header @param {string[][]} rows */
function table(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const fmt = (/** @type {string[]} */ r) => "| " + r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(" | ") + " |";
  return [fmt(header), "|" + widths.map((w) => "-".repeat(w + 2)).join("|") + "|", ...rows.map(fmt)];
}

/**
 * The same tables as Markdown, for README.md / bench/README.md.
 * @param {Record<string, ReturnType<typeof deriveMode>>} modes
 * @param {{ concurrency: number }} load
 */
export function renderMarkdown(modes, { concurrency }) {
  const out = [];
  for (const [modeName, mode] of Object.entries(modes)) {
    out.push(`**${modeName}**`, "", `| target | p50 ms | p99 ms | added p50 ms | added p99 ms | req/s @${concurrency} |`, "|---|---:|---:|---:|---:|---:|");
    for (const name of Object.keys(TARGETS)) {
      const m = mode.targets[name];
      if (!m) continue;
      if ("skipped" in m) out.push(`| ${name} | — | — | — | — | — (${m.skipped}) |`);
      else
        out.push(
          `| ${name} | ${m.p50.toFixed(3)} | ${m.p99.toFixed(3)} | ${name === "direct" ? "—" : signed(m.added_p50)} | ${name === "direct" ? "—" : signed(m.added_p99)} | ${Math.round(m.rps)} |`,
        );
    }
    out.push("", ...headlines(mode).map((f) => `- ${f}`), "");
  }
  return out.join("\n");
}
