import OpenAI, { RateLimitError } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCoreStack } from "../fake-upstream/stack";
import { eventually } from "../support/wait";
import { uniqueModel } from "../support/names";
import type { FakeUpstream } from "../fake-upstream/server";
import type { Stack } from "../support/stack";
import { createKey, createTenant, updateTenant } from "../support/tenants";
import { clientFor, openaiClient } from "../support/clients";

/**
 * Exact per-minute, token and concurrency limits through the whole stack (gateway → RateLimiter
 * Durable Object → tail → model-proxy → fake upstream), driven with the official OpenAI SDK.
 * Clients never retry (maxRetries 0) so every call is exactly one request.
 */
let stack: Stack;
let upstream: FakeUpstream;
let close: () => Promise<void>;
beforeAll(async () => {
  ({ stack, upstream, close } = await startCoreStack());
});
afterAll(() => close?.());

const MESSAGES = [{ role: "user" as const, content: "What is the capital of France?" }];
/** The fixture's usage (test/fixtures/openai/chat-text.json): every answer reports 24 prompt + 7 completion tokens. */
const ACTUAL_TOKENS = 24 + 7;
/**
 * The prompt estimate of MESSAGES by the documented rule (workers/shared/src/openai/estimate.ts),
 * not by calling the estimator: 4 framing tokens per message + 30 ASCII characters at 4 a token.
 */
const PROMPT_ESTIMATE = 4 + Math.ceil(30 / 4);

type Outcome = { ok: true; headers: Headers } | { ok: false; error: RateLimitError };

async function chat(client: OpenAI, model: string, extra: Record<string, unknown> = {}): Promise<Outcome> {
  try {
    const { response } = await client.chat.completions.create({ model: `fake/${model}`, messages: MESSAGES, ...extra }).withResponse();
    return { ok: true, headers: response.headers };
  } catch (err) {
    if (err instanceof RateLimitError) return { ok: false, error: err };
    throw err;
  }
}

const refused = (o: Outcome): RateLimitError => {
  if (o.ok) throw new Error("expected a 429");
  return o.error;
};

describe("requests per minute", () => {
  it("admits exactly 50 of 200 concurrent requests on a key with rpm 50; the rest get 429 with OpenAI's headers", async () => {
    const { client } = await clientFor(stack, { limits: { rpm: 50 } });
    const model = uniqueModel("rpm-burst");
    const outcomes = await Promise.all(Array.from({ length: 200 }, () => chat(client, model)));

    const admitted = outcomes.filter((o) => o.ok);
    expect(admitted).toHaveLength(50);
    expect(upstream.requests(model)).toHaveLength(50);
    const remaining = admitted.map((o) => Number((o as { headers: Headers }).headers.get("x-ratelimit-remaining-requests"))).sort((a, b) => a - b);
    // Each admission saw its own count: 49, 48, …, 0 — every value exactly once.
    expect(remaining).toEqual(Array.from({ length: 50 }, (_, i) => i));
    for (const o of admitted) {
      const h = (o as { headers: Headers }).headers;
      expect(h.get("x-ratelimit-limit-requests")).toBe("50");
      expect(h.get("x-ratelimit-reset-requests")).toMatch(/^(\d+(\.\d+)?s|1m0s)$/);
    }

    const errors = outcomes.filter((o) => !o.ok).map(refused);
    expect(errors).toHaveLength(150);
    for (const e of errors) {
      expect(e.status).toBe(429);
      expect(e.code).toBe("rate_limit_exceeded");
      expect(e.message).toMatch(
        /^429 Rate limit reached for requests per minute \(RPM\) on API key key_\w+: Limit 50, Used 50, Requested 1\. Please try again in \d/,
      );
      expect(e.headers.get("x-ratelimit-limit-requests")).toBe("50");
      expect(e.headers.get("x-ratelimit-remaining-requests")).toBe("0");
      expect(e.headers.get("x-ratelimit-reset-requests")).toMatch(/s$/);
      const ms = Number(e.headers.get("retry-after-ms"));
      expect(ms).toBeGreaterThan(0);
      expect(ms).toBeLessThanOrEqual(60_000);
      expect(Number(e.headers.get("retry-after"))).toBe(Math.ceil(ms / 1000));
      expect(e.headers.get("x-request-id")).toMatch(/^req_/);
      expect(e.headers.get("x-should-retry")).toBeNull();
    }
  });

  it("applies key and tenant limits together; the tightest decides, across the tenant's keys", async () => {
    const tenant = await createTenant(stack);
    await updateTenant(stack, tenant.id, { limits: { rpm: 3 } });
    const a = await createKey(stack, tenant.id, { limits: { rpm: 5 } });
    const b = await createKey(stack, tenant.id, {});
    const clientA = openaiClient(stack, a.key);
    const clientB = openaiClient(stack, b.key);
    const model = uniqueModel("rpm-tenant");

    const first = await chat(clientA, model);
    expect(first.ok && first.headers.get("x-ratelimit-limit-requests")).toBe("3");
    expect(first.ok && first.headers.get("x-ratelimit-remaining-requests")).toBe("2");
    const rest = await Promise.all([chat(clientA, model), chat(clientB, model), chat(clientB, model), chat(clientA, model), chat(clientB, model)]);
    expect(rest.filter((o) => o.ok)).toHaveLength(2);
    const errors = rest.filter((o) => !o.ok).map(refused);
    expect(errors).toHaveLength(3);
    for (const e of errors) expect(e.message).toContain(`on tenant ${tenant.id}: Limit 3, Used 3`);
    expect(upstream.requests(model)).toHaveLength(3);
  });
});

describe("tokens per minute", () => {
  it("refuses up front a request whose reservation exceeds the TPM, then settles admitted ones by actual usage", async () => {
    const { client } = await clientFor(stack, { limits: { tpm: 1000 } });
    const model = uniqueModel("tpm");
    const estimate = PROMPT_ESTIMATE;

    // Reservation = prompt estimate + max_tokens: larger than the whole limit → never admitted.
    const tooBig = refused(await chat(client, model, { max_tokens: 1000 }));
    expect(tooBig.code).toBe("rate_limit_exceeded");
    expect(tooBig.message).toContain(`Request too large for tokens per minute (TPM) on API key`);
    expect(tooBig.message).toContain(`Limit 1000, Requested ${estimate + 1000}`);
    expect(tooBig.headers.get("x-should-retry")).toBe("false");
    expect(upstream.requests(model)).toHaveLength(0);

    // Admitted: the reservation counts until the response settles it to the real 31 tokens.
    const first = await chat(client, model, { max_tokens: 900 });
    expect(first.ok && first.headers.get("x-ratelimit-limit-tokens")).toBe("1000");
    expect(first.ok && first.headers.get("x-ratelimit-remaining-tokens")).toBe(String(1000 - estimate - 900));

    // Once settled, the next reservation sees 31 used tokens, not the 900+ reserved.
    const second = await eventually(
      async () => {
        const o = await chat(client, model, { max_tokens: 900 });
        return o.ok ? o : null;
      },
      15_000,
      "the first request's settlement",
    );
    expect(second.headers.get("x-ratelimit-remaining-tokens")).toBe(String(1000 - ACTUAL_TOKENS - estimate - 900));

    // While the second is unsettled or just settled, a third 900-token reservation cannot fit: 429 with a wait.
    const third = refused(await chat(client, model, { max_tokens: 960 - estimate }));
    expect(third.message).toMatch(/Rate limit reached for tokens per minute \(TPM\)/);
    expect(Number(third.headers.get("retry-after-ms"))).toBeGreaterThan(0);
    expect(third.headers.get("x-ratelimit-limit-tokens")).toBe("1000");
  });
});

describe("concurrency", () => {
  it("never lets more than 4 requests of a key reach the upstream at once; the 5th gets 429; when one finishes a new one is admitted", async () => {
    const { client } = await clientFor(stack, { limits: { max_concurrency: 4 } });
    // Four slow streams, each held open by the fake upstream after its first event.
    const models = Array.from({ length: 4 }, (_, i) => uniqueModel(`conc-${i}`));
    const gates = models.map((m) => upstream.hold(m, 1));
    const streams = await Promise.all(models.map((m) => client.chat.completions.create({ model: `fake/${m}`, messages: MESSAGES, stream: true })));
    await Promise.all(gates.map((g) => g.reached));
    const inFlight = () => models.reduce((n, m) => n + upstream.requests(m).length, 0);
    expect(inFlight()).toBe(4);

    // The 5th (and 6th, on any model) is refused while 4 are in flight; nothing more reaches the upstream.
    const extraModel = uniqueModel("conc-extra");
    const extra = await Promise.all([chat(client, extraModel), chat(client, extraModel)]);
    for (const o of extra) {
      const e = refused(o);
      expect(e.message).toMatch(/Rate limit reached for concurrent requests on API key key_\w+: Limit 4, Used 4, Requested 1/);
      expect(e.headers.get("retry-after")).toBe("1");
      expect(e.headers.get("retry-after-ms")).toBe("1000");
    }
    expect(upstream.requests(extraModel)).toHaveLength(0);

    // One finishes: its slot frees once the gateway settles it, and exactly one new request gets in.
    gates[0]!.release();
    let text = "";
    for await (const chunk of streams[0]!) text += chunk.choices[0]?.delta?.content ?? "";
    expect(text).toBe("The capital of France is Paris.");
    const nextModel = uniqueModel("conc-next");
    const nextGate = upstream.hold(nextModel, 1);
    const next = await eventually(
      () =>
        client.chat.completions.create({ model: `fake/${nextModel}`, messages: MESSAGES, stream: true }).catch((e: unknown) => {
          if (e instanceof RateLimitError) return null;
          throw e;
        }),
      15_000,
      "a freed concurrency slot",
    );
    await nextGate.reached;
    expect(upstream.requests(nextModel)).toHaveLength(1);
    // Four in flight again (three old, one new): the next one is refused.
    expect(refused(await chat(client, extraModel)).message).toContain("Limit 4, Used 4");
    expect(upstream.requests(extraModel)).toHaveLength(0);

    for (const g of [...gates.slice(1), nextGate]) g.release();
    for (const s of [...streams.slice(1), next]) for await (const _ of s) void _;
  });
});
