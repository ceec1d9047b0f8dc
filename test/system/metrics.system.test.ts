import { afterAll, beforeAll, describe, expect, it } from "vitest";
import CHAT_TEXT from "../fixtures/openai/chat-text.json";
import { startCoreStack } from "../fake-upstream/stack";
import type { FakeUpstream } from "../fake-upstream/server";
import { clientFor } from "../support/clients";
import { expectError } from "../support/errors";
import { gatewayFetch } from "../support/fetch";
import { uniqueModel } from "../support/names";
import { restartStack, type Stack } from "../support/stack";
import { parsePrometheus, type Exposition } from "../support/prometheus";
import { createProvider, createRoute, providerTenant } from "../support/providers";
import { batchReaching, chatLines, jsonl, uploadBatchFile } from "../support/batches";
import { RateLimitError } from "openai";
import { d1 } from "../support/stores";
import { eventually } from "../support/wait";

const METRICS_TOKEN = "metrics-scraper-token-for-tests";
let stack: Stack;
let upstream: FakeUpstream;
let close: () => Promise<void>;
beforeAll(async () => {
  // A circuit counts its failures over 10 min here (production: 1 min), so the scripted mix below
  // opens one however long the stack takes to restart in between.
  ({ stack, upstream, close } = await startCoreStack({ vars: { gateway: { METRICS_TOKEN }, "model-proxy": { CIRCUIT_WINDOW_MS: "600000" } } }));
});
afterAll(() => close?.());

/** Prometheus text → { "name{labels}": value } for the lines whose labels include `model="<model>"`. */
function samplesOf(text: string, model: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line.startsWith("#") || !line.includes(`model="${model}"`)) continue;
    const at = line.lastIndexOf(" ");
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

describe("GET /metrics", () => {
  it("refuses a missing or wrong token; the admin token and METRICS_TOKEN read it", async () => {
    await expectError(await gatewayFetch(stack, "/metrics"), 401, "missing_api_key");
    await expectError(await gatewayFetch(stack, "/metrics", { key: "not-the-token" }), 401, "invalid_api_key");
    const { apiKey } = await clientFor(stack);
    await expectError(await gatewayFetch(stack, "/metrics", { key: apiKey }), 401, "invalid_api_key");
    for (const res of [await gatewayFetch(stack, "/metrics", { admin: true }), await gatewayFetch(stack, "/metrics", { key: METRICS_TOKEN })]) {
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
      expect(await res.text()).toContain("# TYPE gateway_requests_total counter");
    }
  });

  it("counts exactly what was sent: 5 answered and 2 failed chats, with their tokens and latency histogram", async () => {
    const model = uniqueModel("metrics");
    const { client } = await clientFor(stack);
    const ids: string[] = [];
    // Spread over the three clients' connections, so more than one gateway isolate may serve them: the counts come from billing's ledger.
    await Promise.all(
      Array.from({ length: 5 }, async () => {
        const { response } = await client.chat.completions.create({ model: `fake/${model}`, messages: [{ role: "user", content: "hi" }] }).withResponse();
        ids.push(response.headers.get("x-request-id")!);
      }),
    );
    upstream.on(model, { error: { status: 500 } });
    for (let i = 0; i < 2; i++) {
      const failed = await gatewayFetch(stack, "/v1/chat/completions", {
        key: (await clientFor(stack)).apiKey,
        body: { model: `fake/${model}`, messages: [{ role: "user", content: "hi" }] },
      });
      ids.push(failed.headers.get("x-request-id")!);
      expect(failed.status).toBe(502);
    }
    const db = await d1(stack, "billing");
    await eventually(
      async () => {
        const row = await db
          .prepare(`SELECT COUNT(*) AS n FROM usage_events WHERE request_id IN (${ids.map(() => "?").join(",")})`)
          .bind(...ids)
          .first<{ n: number }>();
        return row!.n === 7 ? true : null;
      },
      30_000,
      "7 usage events",
    );
    // The upstream's 500, after the router gave up on it, reaches the client as a 502.
    const bad = "502";

    const samples = samplesOf(await (await gatewayFetch(stack, "/metrics", { key: METRICS_TOKEN })).text(), model);
    const ok = `route="chat",model="${model}",provider="fake",status="200"`;
    const ko = `route="chat",model="${model}",provider="fake",status="${bad}"`;
    expect(samples.get(`gateway_requests_total{${ok}}`)).toBe(5);
    expect(samples.get(`gateway_requests_total{${ko}}`)).toBe(2);
    expect(samples.get(`gateway_request_duration_seconds_count{${ok}}`)).toBe(5);
    expect(samples.get(`gateway_request_duration_seconds_bucket{${ok},le="+Inf"}`)).toBe(5);
    expect(samples.get(`gateway_upstream_failures_total{${ko}}`)).toBe(2);
    expect(samples.get(`gateway_upstream_failures_total{${ok}}`)).toBe(0);
    expect(samples.get(`gateway_tokens_total{${ok},kind="prompt"}`)).toBe(5 * CHAT_TEXT.usage.prompt_tokens);
    expect(samples.get(`gateway_tokens_total{${ok},kind="completion"}`)).toBe(5 * CHAT_TEXT.usage.completion_tokens);
  });
});

const scrape = async (): Promise<string> => {
  const res = await gatewayFetch(stack, "/metrics", { key: METRICS_TOKEN });
  expect(res.status).toBe(200);
  return res.text();
};

describe("GET /metrics after a scripted mix of traffic, across restarts", () => {
  it("counts exactly what was sent — requests, latency, attempts with fallback, a refusal, a circuit, a batch — whichever isolate served it", async () => {
    const before = parsePrometheus(await scrape());
    const answered = uniqueModel("mix-ok");
    const batchModel = uniqueModel("mix-batch");
    const { client } = await clientFor(stack);
    // A tenant's fallback route: its first target always answers 500, the second serves.
    const fb = await providerTenant(stack);
    const [P1, P2] = ["mix-primary", "mix-secondary"];
    for (const name of [P1, P2]) await createProvider(stack, fb.caller, { name, type: "openai", base_url: upstream.url, api_key: upstream.apiKey });
    const first = uniqueModel("mix-first");
    const second = uniqueModel("mix-second");
    const route = await createRoute(stack, fb.caller, {
      name: uniqueModel("mix-route"),
      strategy: "fallback",
      retries: 0,
      targets: [
        { provider: P1, model: first },
        { provider: P2, model: second },
      ],
    });
    upstream.on(first, { error: { status: 500 } });
    // A key whose tokens-per-minute limit is smaller than any request it sends: refused every time.
    const limited = await clientFor(stack, { limits: { tpm: 5 } });

    const ask = (c: typeof client, model: string) => c.chat.completions.create({ model, messages: [{ role: "user", content: "hi" }] }).withResponse();
    const refused = async () => {
      const err = await ask(limited.client, `fake/${uniqueModel("mix-limited")}`).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RateLimitError);
      expect((err as RateLimitError).message).toContain("tokens per minute (TPM)");
    };
    const traffic = async (answeredCount: number, fallbackCount: number) => {
      for (let i = 0; i < answeredCount; i++) expect((await ask(client, `fake/${answered}`)).response.status).toBe(200);
      for (let i = 0; i < fallbackCount; i++) {
        const { response } = await ask(fb.client, route.name);
        expect([response.headers.get("x-gateway-provider"), response.headers.get("x-gateway-attempts")]).toEqual([P2, "2"]);
      }
      await refused();
    };
    const tpmRefusals = (m: Exposition) => m.value("gateway_limiter_refusals_total", { reason: "tpm" })!;
    const ok = (model: string, provider: string, route = "chat") => ({ route, model, provider, status: "200" });
    /** Polls until the asynchronous records (usage Queue, waitUntil writes) are all in; then every number is asserted exactly. */
    const settled = (answeredN: number, fallbackN: number, refusalsN: number, batchLines: number) =>
      eventually(
        async () => {
          const m = parsePrometheus(await scrape());
          const done =
            m.value("gateway_requests_total", ok(answered, "fake")) === answeredN &&
            m.value("gateway_requests_total", ok(second, P2)) === fallbackN &&
            m.sum("gateway_upstream_attempts_total", { provider: P1, model: first }) === fallbackN &&
            tpmRefusals(m) - tpmRefusals(before) === refusalsN &&
            (batchLines === 0 || m.value("gateway_requests_total", ok(batchModel, "fake", "batch")) === batchLines);
          return done ? m : null;
        },
        30_000,
        "the traffic's records",
      );

    // Phase 1, then every Worker restarts on the same storage (new isolates, nothing in memory).
    await traffic(3, 3);
    const phase1 = await settled(3, 3, 1, 0);
    expect(phase1.value("gateway_request_duration_seconds_count", ok(answered, "fake"))).toBe(3);
    await restartStack(stack);

    // Phase 2 in the new isolates: more of the same, and a batch of two lines.
    await traffic(2, 2);
    const file = await uploadBatchFile(client, jsonl(chatLines(`fake/${batchModel}`, 2)));
    const batch = await client.batches.create({ input_file_id: file.id, endpoint: "/v1/chat/completions", completion_window: "24h" });
    expect((await batchReaching(client, batch.id, "completed")).request_counts).toMatchObject({ total: 2, completed: 2, failed: 0 });
    const m = await settled(5, 5, 2, 2);

    // What the fake upstream received is what /metrics reports.
    expect(upstream.requests(answered)).toHaveLength(5);
    expect(upstream.requests(first)).toHaveLength(5);
    expect(upstream.requests(second)).toHaveLength(5);
    expect(upstream.requests(batchModel)).toHaveLength(2);

    // Requests and their latency histogram, by route, model, provider and status.
    for (const [labels, n] of [
      [ok(answered, "fake"), 5],
      [ok(second, P2), 5],
      [ok(batchModel, "fake", "batch"), 2],
    ] as const) {
      expect(m.value("gateway_requests_total", labels)).toBe(n);
      expect(m.value("gateway_request_duration_seconds_count", labels)).toBe(n);
      expect(m.value("gateway_request_duration_seconds_bucket", { ...labels, le: "+Inf" })).toBe(n);
      const buckets = m.samples.filter((s) => s.name === "gateway_request_duration_seconds_bucket" && s.labels["model"] === labels.model).map((s) => s.value);
      expect(buckets).toEqual([...buckets].sort((a, b) => a - b));
      expect(m.value("gateway_upstream_failures_total", labels)).toBe(0);
    }
    // No request of the limited key was admitted, so none was metered.
    expect(m.samples.filter((s) => s.name === "gateway_requests_total" && s.labels["model"]?.startsWith("mix-limited"))).toEqual([]);

    // Upstream attempts: every fallback request failed once on the first target and was served by the second.
    const attempts = m.samples.filter(
      (s) => s.name === "gateway_upstream_attempts_total" && [answered, first, second, batchModel].includes(s.labels["model"]!),
    );
    expect(attempts.map((s) => [s.labels, s.value])).toEqual(
      expect.arrayContaining([
        [{ provider: "fake", model: answered, outcome: "ok" }, 5],
        [{ provider: P2, model: second, outcome: "ok" }, 5],
        [{ provider: "fake", model: batchModel, outcome: "ok" }, 2],
        [{ provider: P1, model: first, outcome: "upstream_error" }, 5],
      ]),
    );
    expect(attempts).toHaveLength(4);

    // Limiter refusals: exactly the two sent, all by the tokens-per-minute limit.
    for (const reason of ["rpm", "concurrency", "budget", "credits"])
      expect(m.value("gateway_limiter_refusals_total", { reason })).toBe(before.value("gateway_limiter_refusals_total", { reason }));
    expect(tpmRefusals(m) - tpmRefusals(before)).toBe(2);

    // The first target's circuit opened at its fifth failure (the threshold).
    expect(m.value("gateway_circuits", { provider: P1, model: first, state: "open" })).toBe(1);
    expect(m.samples.filter((s) => s.name === "gateway_circuits" && s.labels["model"] === first)).toHaveLength(1);

    // Batches by status, and nothing left to run.
    expect(m.value("gateway_batches", { status: "completed" })).toBe((before.value("gateway_batches", { status: "completed" }) ?? 0) + 1);
    expect(m.value("gateway_batch_lines_pending")).toBe(0);

    // Every number comes from storage: a third generation of isolates, with nothing in memory, reports the same text.
    const text = await scrape();
    await restartStack(stack);
    expect(await scrape()).toBe(text);
  }, 240_000); // two restarts of the whole stack and a batch: minutes on a loaded machine
});
