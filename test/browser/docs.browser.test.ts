import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, openPage, screenshot } from "../support/browser";
import { startStack, type Stack } from "../support/stack";

let stack: Stack;
let browser: Browser;

beforeAll(async () => {
  [stack, browser] = await Promise.all([startStack(), launchBrowser()]);
});
afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

describe("/docs in a real browser", () => {
  it("shows the chat-completions operation with its request body's `messages` field, from the gateway's own origin only", async () => {
    const { page, requested, errors } = await openPage(browser);
    await page.goto(`${stack.url}/docs`);

    // Tags in the document's order: OpenAI's API first, admin last.
    const tags = page.locator(".opblock-tag-section .opblock-tag");
    await tags.first().waitFor(); // Swagger UI renders every tag section at once, after reading /openapi.json
    const names = await tags.evaluateAll((els) => els.map((e) => e.getAttribute("data-tag") ?? ""));
    expect(names.length).toBeGreaterThan(5);
    expect(names[0]).toBe("openai");
    expect(names[1]).toBe("anthropic");
    expect(names.at(-1)!.startsWith("admin")).toBe(true);

    // Open POST /v1/chat/completions: its request body is shown as a schema, `messages` among its fields.
    const operation = page.locator(".opblock-post", { has: page.locator('[data-path="/v1/chat/completions"]') });
    await operation.locator(".opblock-summary").click();
    const body = operation.locator(".opblock-section-request-body");
    await body.waitFor();
    // OpenAPI 3.1: Swagger UI's JSON Schema 2020-12 view, one `property` per field, expanded.
    const field = body.locator(".json-schema-2020-12-property--required > article > .json-schema-2020-12-head .json-schema-2020-12__title", {
      hasText: /^messages$/,
    });
    await field.first().waitFor();
    expect(await field.count()).toBe(1);
    // Its description is rendered (markdown → text), not left as a raw $ref.
    expect(await body.innerText()).toContain("The conversation so far.");
    expect(await body.innerText()).not.toContain("$ref");
    await operation.scrollIntoViewIfNeeded();
    const shot = await screenshot(page, "docs-chat-completions");
    expect(shot).toMatch(/test-results\/docs-chat-completions\.png$/);

    // Offline: every request the page made went to the gateway itself, and nothing failed.
    const origins = new Set(requested.map((u) => new URL(u).origin));
    expect([...origins]).toEqual([new URL(stack.url).origin]);
    expect(errors).toEqual([]);
  });
});
