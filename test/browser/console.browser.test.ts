import type { Browser, Page } from "playwright-core";
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
/** What the usage API reports for tenant A after the scripted traffic. */
let reported: { requests: number; tokens: number };

interface UsagePage {
  data: { results: { num_model_requests: number; input_tokens: number; output_tokens?: number }[] }[];
}

async function usageTotals(startTime: number): Promise<{ requests: number; tokens: number }> {
  const res = await gatewayFetch(stack, `/v1/organization/usage/completions?start_time=${startTime}&bucket_width=1h&limit=24`, { key: readerKey });
  expect(res.status).toBe(200);
  const page = (await res.json()) as UsagePage;
  const results = page.data.flatMap((b) => b.results);
  return {
    requests: results.reduce((s, r) => s + r.num_model_requests, 0),
    tokens: results.reduce((s, r) => s + r.input_tokens + (r.output_tokens ?? 0), 0),
  };
}

beforeAll(async () => {
  [{ stack, close }, browser] = await Promise.all([startCoreStack(), launchBrowser()]);
  tenantA = await createTenant(stack, "Tenant A");
  readerKey = (await createKey(stack, tenantA.id, { scopes: ["chat", "embeddings", "usage:read"] })).key;
  // A scripted mix: 3 chats on one model, 2 on another, 1 embedding (not a completion: not in these totals).
  const client = openaiClient(stack, readerKey);
  const [m1, m2] = [uniqueModel("console-a"), uniqueModel("console-b")];
  for (const model of [m1, m1, m1, m2, m2]) await client.chat.completions.create({ model: `fake/${model}`, messages: [{ role: "user", content: "hi" }] });
  await client.embeddings.create({ model: `fake/${uniqueModel("console-e")}`, input: "hello" });
  const start = Math.floor(Date.now() / 1000 / 3600) * 3600 - 23 * 3600;
  reported = await eventually(
    async () => {
      const t = await usageTotals(start);
      return t.requests === 5 ? t : null;
    },
    30_000,
    "5 metered chats",
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
    await page.goto(`${stack.url}/console/#/t/${tenantA.id}/overview`);
    await page.locator("#total-requests").waitFor();
    const start = Number(await page.locator("#totals").getAttribute("data-start-time"));
    expect(await usageTotals(start)).toEqual(reported);
    expect(await page.locator("#total-requests").innerText()).toBe(String(reported.requests));
    expect(await page.locator("#total-tokens").innerText()).toBe(reported.tokens.toLocaleString("en-US"));
    // Drawn by uPlot (a canvas per chart), and the by-model breakdown lists both models.
    expect(await page.locator("#chart-requests .uplot canvas").count()).toBe(1);
    expect(await page.locator("#chart-tokens .uplot canvas").count()).toBe(1);
    expect(await page.locator("#by-model tr").count()).toBe(3);
    const shot = await screenshot(page, "console-overview");
    expect(shot).toMatch(/test-results\/console-overview\.png$/);

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
    await page.close();
  });
});
