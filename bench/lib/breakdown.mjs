// Where a request's time goes, per Worker, from workerd's own async trace (`workerd serve
// --async-trace <file>`: one JSON object per line for every request context, JavaScript turn and
// binding operation). A turn's `locked`→`end` is the time the Worker ran JavaScript holding its
// isolate; summed per Worker over a window of requests, that is its JavaScript cost per request.
// Everything workerd does outside turns (HTTP parsing, RPC serialisation) is not in it; a
// SQLite-backed Durable Object's `sql.exec` is synchronous, so that is. Pure functions: see
// breakdown.test.mjs.

/**
 * @typedef {object} Window a span of wall time in which the bench sent `requests` requests to one target
 * @property {string} name
 * @property {number} startMs epoch ms
 * @property {number} endMs epoch ms (including a grace period for work done after the responses)
 * @property {number} requests
 */

/**
 * @typedef {object} WorkerCost
 * @property {string} worker workerd service name (`core:user:` dropped), `(DO)` for Durable Objects
 * @property {number} jsUs JavaScript time per request, µs
 * @property {number} turns turns per request
 * @property {number} medianUs the median request context's JavaScript × contexts per request (robust to a busy machine)
 */

/**
 * @param {string[]} lines the trace file's lines
 * @param {Window[]} windows
 * @returns {Record<string, { requests: number, totalJsUs: number, workers: WorkerCost[], operations: { worker: string, name: string, perRequest: number }[] }>}
 */
export function analyzeTrace(lines, windows) {
  /** @type {number | undefined} */
  let epochMs;
  /** @type {Map<number, string>} */
  const workerOf = new Map();
  const acc = windows.map(() => ({ js: new Map(), turns: new Map(), ops: new Map(), byCtx: new Map() }));
  const windowAt = (/** @type {number} */ ns) => {
    if (epochMs === undefined) return -1;
    const ms = epochMs + ns / 1e6;
    return windows.findIndex((w) => ms >= w.startMs && ms < w.endMs);
  };
  const bump = (/** @type {Map<string, number>} */ m, /** @type {string} */ k, /** @type {number} */ v) => m.set(k, (m.get(k) ?? 0) + v);
  for (const line of lines) {
    if (!line) continue;
    const e = JSON.parse(line);
    if (e.e === "header") epochMs = e.epochUnixMs;
    else if (e.e === "ctx") workerOf.set(e.ctx, String(e.worker).replace(/^core:user:/, "") + (e.actor ? " (DO)" : ""));
    else if (e.e === "turn") {
      const i = windowAt(e.end);
      const a = acc[i];
      if (!a) continue;
      const w = workerOf.get(e.ctx) ?? "?";
      bump(a.js, w, (e.end - e.locked) / 1000);
      bump(a.turns, w, 1);
      const c = a.byCtx.get(e.ctx) ?? a.byCtx.set(e.ctx, { worker: w, us: 0 }).get(e.ctx);
      c.us += (e.end - e.locked) / 1000;
    } else if (e.e === "init" && e.kind === "operation") {
      const a = acc[windowAt(e.at)];
      if (a) bump(a.ops, `${workerOf.get(e.ctx) ?? "?"}\u0000${e.name}`, 1);
    }
  }
  /** @type {ReturnType<typeof analyzeTrace>} */
  const out = {};
  windows.forEach((w, i) => {
    const a = /** @type {(typeof acc)[number]} */ (acc[i]);
    const n = Math.max(1, w.requests);
    /** @type {Map<string, number[]>} */
    const perCtx = new Map();
    for (const { worker, us } of a.byCtx.values()) (perCtx.get(worker) ?? perCtx.set(worker, []).get(worker))?.push(us);
    const workers = [...a.js]
      .map(([worker, us]) => ({
        worker,
        jsUs: round(us / n),
        turns: round((a.turns.get(worker) ?? 0) / n, 2),
        medianUs: round(medianPerRequest(perCtx.get(worker) ?? [], n)),
      }))
      .sort((x, y) => y.jsUs - x.jsUs);
    const operations = [...a.ops]
      .map(([key, count]) => {
        const [worker = "?", name = "?"] = key.split("\u0000");
        return { worker, name, perRequest: round(count / n, 2) };
      })
      .filter((o) => o.perRequest >= 0.01)
      .sort((x, y) => y.perRequest - x.perRequest);
    out[w.name] = { requests: w.requests, totalJsUs: round(workers.reduce((s, x) => s + x.jsUs, 0)), workers, operations };
  });
  return out;
}

const round = (/** @type {number} */ x, digits = 1) => Number(x.toFixed(digits));

/**
 * A Worker's JavaScript per request that a busy machine moves less: the median of its request
 * contexts' own time, times its contexts per request. A turn the OS preempted (other processes on
 * the same cores) counts the wait as JavaScript; the mean takes every such wait in, the median of
 * the contexts only when most of them were preempted.
 * @param {number[]} ctxUs @param {number} requests
 */
function medianPerRequest(ctxUs, requests) {
  if (ctxUs.length === 0) return 0;
  const sorted = [...ctxUs].sort((x, y) => x - y);
  const mid = sorted.length / 2;
  const median =
    sorted.length % 2 ? /** @type {number} */ (sorted[Math.floor(mid)]) : /** @type {number} */ (sorted[mid - 1] + /** @type {number} */ (sorted[mid])) / 2;
  return median * (ctxUs.length / requests);
}

/**
 * @param {ReturnType<typeof analyzeTrace>} analysis
 * @param {number} [minUs] hide Workers below this many µs per request
 */
export function renderBreakdown(analysis, minUs = 5) {
  const lines = [];
  for (const [name, w] of Object.entries(analysis)) {
    lines.push(`${name}: ${w.totalJsUs.toFixed(1)} µs of JavaScript per request (${w.requests} requests)`);
    for (const x of w.workers.filter((x) => x.jsUs >= minUs)) {
      lines.push(
        `  ${x.worker.padEnd(34)} ${x.jsUs.toFixed(1).padStart(8)} µs  ${x.turns.toFixed(2).padStart(6)} turns  median ${x.medianUs.toFixed(1).padStart(7)} µs`,
      );
    }
    const ops = w.operations.filter((o) => o.perRequest >= 0.5).map((o) => `${o.worker}: ${o.name} ×${o.perRequest}`);
    if (ops.length) lines.push(`  operations per request: ${ops.join(", ")}`);
    lines.push("");
  }
  return lines.join("\n");
}
