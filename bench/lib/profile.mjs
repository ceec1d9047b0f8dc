// `npm run bench -- --profile`: V8 CPU profiles of our Workers (gateway, tail, model-proxy) while the
// chain serves requests one at a time, summarised as self time per function: where the JavaScript
// time of `--breakdown` goes inside each Worker. Uses workerd's V8 inspector (`--inspector-addr`).

/** @typedef {{ id: number, callFrame: { functionName: string, url: string, lineNumber: number, columnNumber: number, scriptId: string }, children?: number[] }} ProfileNode */
/** @typedef {{ nodes: ProfileNode[], samples: number[], timeDeltas: number[], startTime: number, endTime: number }} CpuProfile */

/**
 * Connects to each of `workers` in our workerd's inspector and starts its sampling profiler.
 * @param {number} port @param {string[]} workers
 */
export async function startProfiles(port, workers) {
  /** @type {{ title?: string, id?: string, webSocketDebuggerUrl: string }[]} */
  const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
  /** @type {Map<string, { send: (method: string, params?: object) => Promise<any>, close: () => void }>} */
  const sessions = new Map();
  for (const name of workers) {
    const target = targets.find((t) => (t.title ?? t.id ?? "").replace(/^.*:/, "") === name || t.title === name || t.id === name);
    if (!target) throw new Error(`no inspector target for ${name} (targets: ${targets.map((t) => t.title ?? t.id).join(", ")})`);
    const session = await connect(target.webSocketDebuggerUrl);
    await session.send("Profiler.enable");
    await session.send("Debugger.enable"); // so a profile's script ids can be read back (the bundle's source lines)
    await session.send("Profiler.setSamplingInterval", { interval: 50 });
    await session.send("Profiler.start");
    sessions.set(name, session);
  }
  return {
    /** Stops every profiler; returns each Worker's profile. */
    async stop() {
      /** @type {Record<string, CpuProfile>} */
      const out = {};
      for (const [name, session] of sessions) {
        /** @type {CpuProfile} */
        const profile = (await session.send("Profiler.stop")).profile;
        /** @type {Map<string, string[]>} */
        const sources = new Map();
        for (const node of profile.nodes) {
          const f = node.callFrame;
          if (!f.url || f.scriptId === "0") continue;
          if (!sources.has(f.scriptId)) {
            const got = await session.send("Debugger.getScriptSource", { scriptId: f.scriptId }).catch(() => ({ scriptSource: "" }));
            sources.set(f.scriptId, String(got.scriptSource).split("\n"));
          }
          const line = sources.get(f.scriptId)?.[f.lineNumber] ?? "";
          /** @type {any} */ (f).source = line.slice(Math.max(0, f.columnNumber - 20), f.columnNumber + 80).trim();
        }
        out[name] = profile;
        session.close();
      }
      return out;
    },
  };
}

/** @param {string} url */
function connect(url) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    let next = 1;
    /** @type {Map<number, { resolve: (v: any) => void, reject: (e: Error) => void }>} */
    const pending = new Map();
    ws.addEventListener("message", (ev) => {
      const msg = JSON.parse(String(ev.data));
      const p = msg.id !== undefined ? pending.get(msg.id) : undefined;
      if (!p) return;
      pending.delete(msg.id);
      if (msg.error) p.reject(new Error(msg.error.message));
      else p.resolve(msg.result);
    });
    ws.addEventListener("error", () => reject(new Error(`inspector connection to ${url} failed`)));
    ws.addEventListener("open", () =>
      resolve({
        /** @param {string} method @param {object} [params] */
        send: (method, params = {}) =>
          new Promise((res, rej) => {
            const id = next++;
            pending.set(id, { resolve: res, reject: rej });
            ws.send(JSON.stringify({ id, method, params }));
          }),
        close: () => ws.close(),
      }),
    );
  });
}

/**
 * Self time per function (µs per request), heaviest first, and the share of time in idle/GC.
 * @param {CpuProfile} profile @param {number} requests @param {number} [top]
 */
export function summarizeProfile(profile, requests, top = 25) {
  /** @type {Map<number, ProfileNode>} */
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  /** @type {Map<string, number>} */
  const self = new Map();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(/** @type {number} */ (profile.samples[i]));
    const dt = profile.timeDeltas[i + 1] ?? 0;
    if (!node) continue;
    const f = node.callFrame;
    if (f.functionName === "(idle)" || f.functionName === "(program)") continue;
    const file = f.url.replace(/^.*\/(workers|node_modules)\//, "$1/");
    const source = /** @type {any} */ (f).source;
    const key = `${f.functionName || "(anonymous)"} ${file}:${f.lineNumber + 1}${source ? `  «${source}»` : ""}`;
    self.set(key, (self.get(key) ?? 0) + dt);
    total += dt;
  }
  const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
  return { totalUsPerRequest: total / requests, rows: rows.map(([fn, us]) => ({ fn, usPerRequest: us / requests })) };
}
