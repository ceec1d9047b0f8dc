import type { Browser, Page } from "playwright-core";
import { APIError } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCoreStack } from "../fake-upstream/stack";
import { launchBrowser, openPage, screenshot } from "../support/browser";
import { openaiClient } from "../support/clients";
import { acceptRequest, adminInvite, createOperator, member, PASSWORD, uniqueEmail } from "../support/console";
import { gatewayFetch } from "../support/fetch";
import { uniqueModel } from "../support/names";
import type { Stack } from "../support/stack";
import { adminFetch, createKey, createTenant, type ApiKey, type Tenant } from "../support/tenants";
import { eventually } from "../support/wait";

let stack: Stack;
let close: () => Promise<void>;
let browser: Browser;
let tenantA: Tenant;
let readerKey: string;
/** The usage API's figures for tenant A after the scripted traffic (read with a `usage:read` key). */
let reported: Figures;
/** The gateway ids of the scripted requests. */
const sent: string[] = [];

interface Figures {
  requests: number;
  tokens: number;
  costMicros: number;
  byModel: Record<string, number>;
  byKey: Record<string, number>;
}

interface UsagePage {
  data: { results: { num_model_requests: number; input_tokens: number; output_tokens?: number; model?: string | null; api_key_id?: string | null }[] }[];
}

async function usagePage(path: string): Promise<UsagePage> {
  const res = await gatewayFetch(stack, path, { key: readerKey });
  expect(res.status).toBe(200);
  return (await res.json()) as UsagePage;
}

/** Requests, tokens and cost of tenant A since `startTime` as the usage API reports them (completions + embeddings; costs). */
async function usageFigures(startTime: number): Promise<Figures> {
  const q = `start_time=${startTime}&bucket_width=1h&limit=24`;
  const rows = (await Promise.all(["completions", "embeddings"].map((k) => usagePage(`/v1/organization/usage/${k}?${q}&group_by=model`)))).flatMap((p) =>
    p.data.flatMap((b) => b.results),
  );
  const byKeyRows = (await Promise.all(["completions", "embeddings"].map((k) => usagePage(`/v1/organization/usage/${k}?${q}&group_by=api_key_id`)))).flatMap(
    (p) => p.data.flatMap((b) => b.results),
  );
  const costs = (await (await gatewayFetch(stack, `/v1/organization/costs?start_time=${startTime}&limit=2`, { key: readerKey })).json()) as {
    data: { results: { cost_usd_micros: number }[] }[];
  };
  const sumBy = (list: typeof rows, key: "model" | "api_key_id") =>
    list.reduce<Record<string, number>>((acc, r) => ({ ...acc, [String(r[key])]: (acc[String(r[key])] ?? 0) + r.num_model_requests }), {});
  return {
    requests: rows.reduce((s, r) => s + r.num_model_requests, 0),
    tokens: rows.reduce((s, r) => s + r.input_tokens + (r.output_tokens ?? 0), 0),
    costMicros: costs.data.flatMap((b) => b.results).reduce((s, r) => s + r.cost_usd_micros, 0),
    byModel: sumBy(rows, "model"),
    byKey: sumBy(byKeyRows, "api_key_id"),
  };
}

/** One request's metered record (`GET /v1/usage/requests/{id}`): its status and latency. */
async function requestRecord(id: string): Promise<{ status: number; latency_ms: number }> {
  const res = await gatewayFetch(stack, `/v1/usage/requests/${id}`, { key: readerKey });
  expect(res.status).toBe(200);
  return (await res.json()) as { status: number; latency_ms: number };
}

const nearestRank = (sorted: number[], pct: number) => sorted[Math.floor((sorted.length * pct + 99) / 100) - 1]!;

beforeAll(async () => {
  [{ stack, close }, browser] = await Promise.all([startCoreStack(), launchBrowser()]);
  tenantA = await createTenant(stack, "Tenant A");
  readerKey = (await createKey(stack, tenantA.id, { scopes: ["chat", "embeddings", "usage:read"] })).key;
  const otherKey = (await createKey(stack, tenantA.id, { scopes: ["chat"] })).key;
  // A scripted mix: 3 chats on one model, 2 on another (one by a second key), 1 embedding, 1 streamed chat,
  // and 1 refused upstream (the provider rejects the gateway's credential): metered as an error.
  const client = openaiClient(stack, readerKey);
  const [m1, m2] = [uniqueModel("console-a"), uniqueModel("console-b")];
  for (const [model, c] of [m1, m1, m1, m2].map((m) => [m, client] as const).concat([[m2, openaiClient(stack, otherKey)]])) {
    const { response } = await c.chat.completions.create({ model: `fake/${model}`, messages: [{ role: "user", content: "hi" }] }).withResponse();
    sent.push(response.headers.get("x-request-id")!);
  }
  const emb = await client.embeddings.create({ model: `fake/${uniqueModel("console-e")}`, input: "hello" }).withResponse();
  sent.push(emb.response.headers.get("x-request-id")!);
  const stream = await client.chat.completions
    .create({ model: `fake/${m1}`, messages: [{ role: "user", content: "stream" }], stream: true, stream_options: { include_usage: true } })
    .withResponse();
  for await (const _ of stream.data);
  sent.push(stream.response.headers.get("x-request-id")!);
  const refused = await client.chat.completions.create({ model: `badkey/${m1}`, messages: [{ role: "user", content: "hi" }] }).catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(APIError);
  sent.push((refused as APIError).headers?.get("x-request-id") ?? "");
  const start = Math.floor(Date.now() / 1000 / 3600) * 3600 - 23 * 3600;
  reported = await eventually(
    async () => {
      const f = await usageFigures(start);
      return f.requests === sent.length ? f : null;
    },
    30_000,
    `${sent.length} metered requests`,
  );
});
afterAll(async () => {
  await browser?.close();
  await close?.();
});

async function signInPage(page: Page, email: string): Promise<void> {
  await page.goto(`${stack.url}/console`);
  await page.locator("#login input[name=email]").fill(email);
  await page.locator("#login input[name=password]").fill(PASSWORD);
  await page.locator("#login button[type=submit]").click();
  await page.locator("#who").getByText(email).waitFor();
}

/** A console API call from inside the page, as its own script would make it (cookie + CSRF token). */
function pageCall(page: Page, path: string, method = "GET", body?: unknown): Promise<{ status: number; body: { error?: { code: string } } }> {
  return page.evaluate(
    async ({ path, method, body }) => {
      const session = (await (await fetch("/console/api/session")).json()) as { csrf_token: string };
      const res = await fetch(`/console/api${path}`, {
        method,
        headers: { "content-type": "application/json", "x-csrf-token": session.csrf_token },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, body: await res.json() };
    },
    { path, method, body },
  );
}

describe("the console in a real browser", () => {
  it("an operator signs in, sees charts whose totals equal the usage API's, opens the tenant's keys, creates and revokes one", async () => {
    const { email } = await createOperator(stack);
    const { page, requested, errors } = await openPage(browser);
    await signInPage(page, email);
    // Before sign-in the page asked for its session once and was told 401 (Chromium logs that answer); nothing else.
    expect(errors).toEqual([`HTTP 401 ${stack.url}/console/api/session`, "Failed to load resource: the server responded with a status of 401 (Unauthorized)"]);
    errors.length = 0;
    // Across tenants first (operators only), then tenant A opened from its row.
    await page.locator("#nav-platform").click();
    await page.locator(`#by-tenant tr[data-name="${tenantA.id}"] a.open-tenant`).click();
    await page.waitForFunction((hash) => location.hash === hash, `#/t/${tenantA.id}/overview`);
    await page.locator("#by-key").waitFor(); // the tenant's overview (the every-tenant page has no by-key table)
    const value = async (id: string) => Number(await page.locator(`#${id}`).getAttribute("data-value"));
    const start = Number(await page.locator("#totals").getAttribute("data-start-time"));
    expect(await usageFigures(start)).toEqual(reported);
    // The summary figures equal the usage API's, exactly (data-value) and as shown.
    expect(await value("total-requests")).toBe(reported.requests);
    expect(await value("total-tokens")).toBe(reported.tokens);
    expect(await value("total-cost")).toBe(reported.costMicros);
    expect(await page.locator("#total-requests").innerText()).toBe(String(reported.requests));
    expect(await page.locator("#total-tokens").innerText()).toBe(reported.tokens.toLocaleString("en-US"));
    expect(await page.locator("#total-cost").innerText()).toBe((reported.costMicros / 1e6).toFixed(6));
    // Error rate and p50/p95 equal what the per-request usage records say (nearest rank).
    const records = await Promise.all(sent.map(requestRecord));
    const latencies = records.map((r) => r.latency_ms).sort((a, b) => a - b);
    expect(records.filter((r) => r.status >= 400)).toHaveLength(1);
    expect(await value("error-rate")).toBeCloseTo(1 / sent.length, 12);
    expect(await value("latency-p50")).toBe(nearestRank(latencies, 50));
    expect(await value("latency-p95")).toBe(nearestRank(latencies, 95));
    // Breakdowns: by model and by key, each row's requests as the usage API groups them.
    const rowsOf = async (table: string) =>
      Object.fromEntries(
        await page
          .locator(`#${table} tr[data-name]`)
          .evaluateAll((rows) => rows.map((r) => [(r as HTMLElement).dataset["name"]!, Number((r as HTMLElement).dataset["requests"])] as const)),
      );
    expect(await rowsOf("by-model")).toEqual(reported.byModel);
    expect(await rowsOf("by-key")).toEqual(reported.byKey);
    expect(Object.values(await rowsOf("by-provider")).reduce((a, b) => a + b, 0)).toBe(reported.requests);
    // Drawn by uPlot (a canvas per chart): requests, tokens, cost and error rate over time.
    for (const chart of ["chart-requests", "chart-tokens", "chart-cost", "chart-errors"]) expect(await page.locator(`#${chart} .uplot canvas`).count()).toBe(1);
    // What each chart plots (24 hourly points) sums to the usage API's totals; the error chart shows the failed hour.
    const chartTotal = async (id: string) => Number(await page.locator(`#${id}`).getAttribute("data-total"));
    expect(await page.locator("#chart-requests").getAttribute("data-points")).toBe("24");
    expect(await chartTotal("chart-requests")).toBe(reported.requests);
    expect(await chartTotal("chart-tokens")).toBe(reported.tokens);
    expect(await chartTotal("chart-cost")).toBe(reported.costMicros);
    expect(await chartTotal("chart-errors")).toBeGreaterThan(0);
    await page.evaluate(() => window.scrollTo(0, 0));
    const shot = await screenshot(page, "console-overview");
    expect(shot).toMatch(/test-results\/console-overview\.png$/);
    console.log(`console overview screenshot: ${shot}`);

    // Recent requests: each scripted request with its status and attempts.
    await page.locator("nav a", { hasText: "Requests" }).click();
    await page.locator("#recent").waitFor();
    const recent = await page.locator("#recent tr[data-request-id]").evaluateAll((rows) =>
      rows.map((r) => ({
        id: (r as HTMLElement).dataset["requestId"],
        status: Number((r as HTMLElement).dataset["status"]),
        attempts: Number((r as HTMLElement).dataset["attempts"]),
      })),
    );
    expect(recent.map((r) => r.id).sort()).toEqual([...sent].sort());
    expect(recent.map((r) => r.status).sort()).toEqual(records.map((r) => r.status).sort());
    expect(recent.every((r) => r.attempts >= 1)).toBe(true);

    await page.locator("nav a", { hasText: "Keys" }).click();
    await page.locator("#create-key input[name=name]").fill("from the console");
    await page.locator("#create-key-button").click();
    const secret = await page.locator("#new-key-secret").innerText();
    expect(secret).toMatch(/^sk-dev-/);
    const listed = (await (await adminFetch(stack, `/admin/tenants/${tenantA.id}/keys`)).json()) as { data: ApiKey[] };
    const created = listed.data.find((k) => k.name === "from the console")!;
    expect(created).toMatchObject({ status: "active", created_by: expect.stringMatching(/^user:usr_/) });
    const row = page.locator(`tr[data-key-id="${created.id}"]`);
    await row.locator("button.revoke").click();
    await page.locator(`tr[data-key-id="${created.id}"] td.status`, { hasText: "revoked" }).waitFor();
    const after = (await (await adminFetch(stack, `/admin/keys/${created.id}`)).json()) as ApiKey;
    expect(after.status).toBe("revoked");
    // The revoked key no longer works.
    expect((await gatewayFetch(stack, "/v1/models", { key: secret })).status).toBe(401);

    // Offline: nothing left the gateway's origin, nothing failed.
    expect([...new Set(requested.map((u) => new URL(u).origin))]).toEqual([new URL(stack.url).origin]);
    expect(errors).toEqual([]);
    await page.close();
  });

  it("a viewer has no create button, and the API answers 403 when the page tries anyway", async () => {
    const email = uniqueEmail("viewer");
    const invite = await adminInvite(stack, { email, role: "viewer", tenant_id: tenantA.id });
    const { page } = await openPage(browser);
    await page.goto(invite.url);
    await page.locator("#invite input[name=name]").fill("Vera Viewer");
    await page.locator("#invite input[name=password]").fill(PASSWORD);
    await page.locator("#invite button[type=submit]").click();
    await page.locator("#who").getByText(email).waitFor();
    await page.goto(`${stack.url}/console/#/t/${tenantA.id}/keys`);
    await page.locator("#keys").waitFor();
    expect(await page.locator("#create-key-button").count()).toBe(0);
    expect(await page.locator("button.revoke").count()).toBe(0);
    const before = ((await (await adminFetch(stack, `/admin/tenants/${tenantA.id}/keys`)).json()) as { data: ApiKey[] }).data.length;
    const attempt = await pageCall(page, `/tenants/${tenantA.id}/keys`, "POST", { name: "sneaky" });
    expect(attempt).toMatchObject({ status: 403, body: { error: { code: "permission_denied" } } });
    expect(((await (await adminFetch(stack, `/admin/tenants/${tenantA.id}/keys`)).json()) as { data: ApiKey[] }).data.length).toBe(before);
    // Reused: the invite link cannot be used a second time.
    expect((await acceptRequest(stack, invite.token)).status).toBe(410);
    await page.close();
  });

  it("a user of tenant B sees only tenant B: zero usage, no tenant A in the list, 404 for A's data", async () => {
    const tenantB = await createTenant(stack, "Tenant B");
    const userB = await member(stack, tenantB.id, "owner");
    const { page } = await openPage(browser);
    await signInPage(page, userB.session.user.email);
    await page.locator("#total-requests").waitFor();
    expect(await page.locator("#total-requests").innerText()).toBe("0");
    const options = await page.locator("#tenant option").evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
    expect(options).toEqual([tenantB.id]);
    expect(await pageCall(page, `/tenants/${tenantA.id}/usage/completions?start_time=${Math.floor(Date.now() / 1000) - 3600}`)).toMatchObject({
      status: 404,
      body: { error: { code: "not_found" } },
    });
    expect(await pageCall(page, `/tenants/${tenantA.id}/keys`)).toMatchObject({ status: 404 });
    for (const path of ["report?start_time=" + (Math.floor(Date.now() / 1000) - 3600), "invoices", "batches", "members", "providers"]) {
      expect(await pageCall(page, `/tenants/${tenantA.id}/${path}`), path).toMatchObject({ status: 404, body: { error: { code: "not_found" } } });
    }
    // The operators' every-tenant report is refused outright; the page offers no link to it.
    expect(await pageCall(page, `/overview?start_time=${Math.floor(Date.now() / 1000) - 3600}`)).toMatchObject({ status: 403 });
    expect(await page.locator("#nav-platform").count()).toBe(0);
    // Tenant B's own recent requests: none of A's.
    await page.goto(`${stack.url}/console/#/t/${tenantB.id}/requests`);
    await page.locator("#recent").waitFor();
    expect(await page.locator("#recent tr[data-request-id]").count()).toBe(0);
    await page.close();
  });
});
