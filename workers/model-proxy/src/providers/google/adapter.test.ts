import { describe, expect, it } from "vitest";
import keyInvalid from "../../../../../test/fixtures/google/error-400-api-key-invalid.json";
import text from "../../../../../test/fixtures/google/generate-text.json";
import textStream from "../../../../../test/fixtures/google/stream-text.sse?raw";
import { ApiError } from "../../../../shared/src";
import { adapterFor } from "../index";
import { callContext as ctx, fetchRecorder, geminiProvider } from "../adapter-test-utils";
import { assemble, readOpenAISse } from "../translation-test-utils";
import type { ProviderConfig, Target } from "../types";

const target = (over: Partial<ProviderConfig> = {}): Target => ({ provider: geminiProvider(over), model: "gemini-2.5-flash" });

const { calls, stubFetch } = fetchRecorder();

describe("Google adapter", () => {
  const adapter = adapterFor("google")!;

  it("is registered for provider type google and serves chat and embeddings", () => {
    expect(adapter.supports("chat")).toBe(true);
    expect(adapter.supports("embeddings")).toBe(true);
    expect(adapter.supports("completions")).toBe(false);
  });

  it("calls generateContent with the key in x-goog-api-key (never in the URL)", async () => {
    stubFetch(() => Response.json(text));
    const res = await adapter.call("chat", { model: "gemini/flash", messages: [{ role: "user", content: "Capital of France?" }] }, target(), ctx());
    expect(calls[0]!.url).toBe("https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent");
    expect(calls[0]!.url).not.toContain("key=");
    const headers = new Headers(calls[0]!.init.headers);
    expect(headers.get("x-goog-api-key")).toBe("AIzaSyTestKey000000000000000000000");
    expect(JSON.parse(String(calls[0]!.init.body))).toEqual({ contents: [{ role: "user", parts: [{ text: "Capital of France?" }] }] });
    const body = (await res.json()) as { choices: { message: { content: string } }[] };
    expect(body.choices[0]!.message.content).toBe("The capital of France is Paris.");
  });

  it("streams from streamGenerateContent?alt=sse, on an origin-only base URL too", async () => {
    stubFetch(() => new Response(textStream, { headers: { "content-type": "text/event-stream" } }));
    const res = await adapter.call(
      "chat",
      { model: "m", stream: true, stream_options: { include_usage: true }, messages: [{ role: "user", content: "x" }] },
      target({ baseUrl: "http://127.0.0.1:8999" }),
      ctx(),
    );
    expect(calls[0]!.url).toBe("http://127.0.0.1:8999/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse");
    const view = readOpenAISse(await res.text());
    expect(assemble(view.chunks).content).toBe("The capital of France is Paris.");
    expect(assemble(view.chunks).usage).toMatchObject({ prompt_tokens: 9, completion_tokens: 37 });
    expect(view.done).toBe(true);
  });

  it("maps an invalid provider key to a 502 before anything reaches the client", async () => {
    stubFetch(() => new Response(JSON.stringify(keyInvalid.body), { status: 400, headers: keyInvalid.headers }));
    const err = await adapter.call("chat", { model: "m", messages: [{ role: "user", content: "x" }] }, target(), ctx()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(502);
  });
});
