// The batch part of `npm run bench`: one 10,000-line batch through the Files and Batch APIs against
// the zero-delay upstream, timed from `POST /v1/batches` to `completed` (polling GET /v1/batches/{id}
// as a client does). Every line goes the full way: Queue chunk → tail's consumer → the gateway's
// BatchLineService (limits, routing, metering) → tail → model-proxy → upstream, and the coordinator
// assembles the output file at the end.
import { BENCH_MODEL, BENCH_PROVIDER } from "./setup.mjs";

export const BATCH_LINES = 10_000;

/**
 * @param {string} gateway base URL
 * @param {string} key an API key with the `batch` scope
 * @param {{ lines?: number, timeoutMs?: number, log?: (s: string) => void }} [options]
 */
export async function runBatchBench(gateway, key, options = {}) {
  const lines = options.lines ?? BATCH_LINES;
  const auth = { authorization: `Bearer ${key}` };
  const body = Array.from({ length: lines }, (_, i) =>
    JSON.stringify({
      custom_id: `line-${i + 1}`,
      method: "POST",
      url: "/v1/chat/completions",
      body: { model: `${BENCH_PROVIDER}/${BENCH_MODEL}`, messages: [{ role: "user", content: `question ${i + 1}` }] },
    }),
  ).join("\n");
  const form = new FormData();
  form.append("purpose", "batch");
  form.append("file", new Blob([body], { type: "application/jsonl" }), "bench.jsonl");
  const uploadStart = performance.now();
  const file = await expectJson(await fetch(`${gateway}/v1/files`, { method: "POST", headers: auth, body: form }), "upload");
  const uploadMs = performance.now() - uploadStart;

  const start = performance.now();
  const created = await expectJson(
    await fetch(`${gateway}/v1/batches`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ input_file_id: file.id, endpoint: "/v1/chat/completions", completion_window: "24h" }),
    }),
    "create batch",
  );
  const deadline = Date.now() + (options.timeoutMs ?? 600_000);
  let batch = created;
  let lastLog = 0;
  while (!["completed", "failed", "expired", "cancelled"].includes(batch.status)) {
    if (Date.now() > deadline) throw new Error(`batch ${created.id} not finished in time: ${JSON.stringify(batch.request_counts)}`);
    await new Promise((r) => setTimeout(r, 200));
    batch = await expectJson(await fetch(`${gateway}/v1/batches/${created.id}`, { headers: auth }), "poll batch");
    if (options.log && Date.now() - lastLog > 5000) {
      lastLog = Date.now();
      options.log(`batch: ${batch.status} ${JSON.stringify(batch.request_counts)}`);
    }
  }
  const completedMs = performance.now() - start;
  if (batch.status !== "completed") throw new Error(`batch ended ${batch.status}: ${JSON.stringify(batch.errors ?? batch.request_counts)}`);
  const counts = batch.request_counts;
  if (counts.completed !== lines) throw new Error(`batch completed ${counts.completed} of ${lines} lines (${counts.failed} failed)`);
  const output = await fetch(`${gateway}/v1/files/${batch.output_file_id}/content`, { headers: auth });
  const outputLines = (await output.text()).split("\n").filter(Boolean).length;
  if (outputLines !== lines) throw new Error(`the output file has ${outputLines} lines, not ${lines}`);
  const runMs = batch.in_progress_at && batch.completed_at ? (batch.completed_at - batch.in_progress_at) * 1000 : null;
  return {
    lines,
    upload_ms: Math.round(uploadMs),
    time_to_completed_ms: Math.round(completedMs),
    lines_per_second: Math.round((lines / completedMs) * 1000),
    in_progress_to_completed_s: runMs === null ? null : runMs / 1000,
  };
}

/** @param {Response} res @param {string} what */
async function expectJson(res, what) {
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${what}: ${res.status} ${text.slice(0, 500)}`);
  return JSON.parse(text);
}
