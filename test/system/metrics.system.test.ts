import { afterAll, beforeAll, describe, expect, it } from "vitest";
import CHAT_TEXT from "../fixtures/openai/chat-text.json";
import { startCoreStack } from "../fake-upstream/stack";
import type { FakeUpstream } from "../fake-upstream/server";
import { clientFor } from "../support/clients";
import { expectError } from "../support/errors";
import { gatewayFetch } from "../support/fetch";
import { uniqueModel } from "../support/names";
import type { Stack } from "../support/stack";
import { d1 } from "../support/stores";
import { eventually } from "../support/wait";

const METRICS_TOKEN = "metrics-scraper-token-for-tests";
let stack: Stack;
let upstream: FakeUpstream;
let close: () => Promise<void>;
beforeAll(async () => {
  ({ stack, upstream, close } = await startCoreStack({ vars: { gateway: { METRICS_TOKEN } } }));
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
