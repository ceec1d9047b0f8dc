import { describe, expect, it, vi } from "vitest";
import type { Observation } from "./observation";
import { generatedCharsIn, openAIInspector, withoutNullUsage } from "./openai-dialect";
import { pumpSse, type SsePumpOptions } from "./sse-pump";

/** The pump with the OpenAI inspector, as the gateway runs it for chat and completions. */
const tapSse = (body: ReadableStream<Uint8Array>, { stripUsageChunk, ...rest }: Omit<SsePumpOptions, "inspector"> & { stripUsageChunk: boolean }) =>
  pumpSse(body, { ...rest, inspector: openAIInspector({ stripUsageChunk }) });

const enc = new TextEncoder();
const dec = new TextDecoder();
const chunk = (o: Record<string, unknown>) => `data: ${JSON.stringify(o)}\n\n`;
const delta = (content: string, extra: Record<string, unknown> = {}) =>
  chunk({ id: "c", object: "chat.completion.chunk", choices: [{ index: 0, delta: { content }, finish_reason: null }], ...extra });
const finish = (extra: Record<string, unknown> = {}) => chunk({ id: "c", choices: [{ index: 0, delta: {}, finish_reason: "stop" }], ...extra });
const usageChunk = chunk({
  id: "c",
  choices: [],
  usage: {
    prompt_tokens: 10,
    completion_tokens: 3,
    total_tokens: 13,
    prompt_tokens_details: { cached_tokens: 4 },
    completion_tokens_details: { reasoning_tokens: 1 },
  },
});
const DONE = "data: [DONE]\n\n";

/** Runs `pieces` (split anywhere) through the tap; returns what the client got and what the tap saw. */
async function run(pieces: string[], opts: { strip?: boolean; failAfter?: boolean } = {}) {
  let seen: Observation | undefined;
  // Pull-based, so a failure comes after the pieces were read (erroring drops queued chunks).
  let i = 0;
  const body = new ReadableStream<Uint8Array>(
    {
      pull(c) {
        if (i < pieces.length) c.enqueue(enc.encode(pieces[i++]!));
        else if (opts.failAfter) c.error(new Error("network lost"));
        else c.close();
      },
    },
    { highWaterMark: 0 },
  );
  const out = tapSse(body, { stripUsageChunk: opts.strip ?? false, provider: "acme", onEnd: (o) => (seen = o) });
  const text = await new Response(out).text();
  return { text, seen: seen! };
}

describe("the SSE pump with the OpenAI inspector", () => {
  it("passes the stream through byte for byte and reads its usage", async () => {
    const wire = delta("Hel") + delta("lo") + finish() + usageChunk + DONE;
    const { text, seen } = await run([wire]);
    expect(text).toBe(wire);
    expect(seen.usage).toEqual({ promptTokens: 10, completionTokens: 3, cachedTokens: 4, cacheWriteTokens: 0, reasoningTokens: 1, totalTokens: 13 });
    expect(seen).toMatchObject({ aborted: false, upstreamError: false, contentEvents: 2, completionChars: 5 });
  });

  it("handles events split at any byte, including inside multi-byte characters", async () => {
    const wire = delta("héllo 🌍") + finish() + DONE;
    const bytes = enc.encode(wire);
    let seen: Observation | undefined;
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        for (const b of bytes) c.enqueue(new Uint8Array([b]));
        c.close();
      },
    });
    const text = await new Response(tapSse(body, { stripUsageChunk: false, provider: null, onEnd: (o) => (seen = o) })).text();
    expect(text).toBe(wire);
    expect(seen!.completionChars).toBe("héllo 🌍".length);
  });

  it("strips the usage chunk and the usage:null members it asked for on the client's behalf", async () => {
    const { text, seen } = await run([delta("a", { usage: null }) + finish({ usage: null }) + usageChunk + DONE], { strip: true });
    expect(text).toBe(delta("a") + finish() + DONE);
    expect(seen.usage?.totalTokens).toBe(13);
  });

  it("keeps a usage chunk the client asked for", async () => {
    const wire = delta("a", { usage: null }) + usageChunk + DONE;
    expect((await run([wire], { strip: false })).text).toBe(wire);
  });

  it("ends a stream that breaks with an error event, dropping a half event", async () => {
    const { text, seen } = await run([delta("a"), 'data: {"id":"c","cho'], { failAfter: true });
    expect(text.startsWith(delta("a"))).toBe(true);
    const last = text.slice(delta("a").length);
    expect(last).toMatch(/^data: \{"error":\{"message":"The stream from provider 'acme' broke before it was complete\.","type":"upstream_error"/);
    expect(seen.upstreamError).toBe(true);
  });

  it("ends a stream that stopped before finishing with an error event, not a silent truncation", async () => {
    const { text, seen } = await run([delta("a")]);
    expect(text).toContain('"code":"upstream_error"');
    expect(seen.upstreamError).toBe(true);
  });

  it("adds [DONE] after a finished stream whose upstream omitted it", async () => {
    const { text, seen } = await run([delta("a") + finish()]);
    expect(text).toBe(delta("a") + finish() + DONE);
    expect(seen.upstreamError).toBe(false);
  });

  it("notes an error event the upstream sent itself", async () => {
    const err = chunk({ error: { message: "overloaded", type: "server_error" } });
    const { text, seen } = await run([delta("a") + err]);
    expect(text).toBe(delta("a") + err);
    expect(seen.upstreamError).toBe(true);
  });

  it("reports a reader that went away as aborted, once", async () => {
    let calls = 0;
    let seen: Observation | undefined;
    let cancelled: unknown;
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(enc.encode(delta("a")));
      },
      cancel(reason) {
        cancelled = reason;
      },
    });
    const reader = tapSse(body, { stripUsageChunk: true, provider: null, onEnd: (o) => ((seen = o), calls++) }).getReader();
    expect(dec.decode((await reader.read()).value)).toBe(delta("a"));
    await reader.cancel("client gone");
    expect(cancelled).toBe("client gone");
    expect(seen).toMatchObject({ aborted: true, contentEvents: 1 });
    expect(calls).toBe(1);
  });
});

describe("the SSE pump with the OpenAI inspector with a client-gone signal", () => {
  it("ends at once when the client leaves while the upstream is silent", async () => {
    let seen: Observation | undefined;
    let cancelled: unknown;
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(enc.encode(delta("thinking")));
      },
      cancel(reason) {
        cancelled = reason ?? "cancelled";
      },
    });
    const gone = new AbortController();
    const reader = tapSse(body, { stripUsageChunk: true, provider: null, onEnd: (o) => (seen = o), clientGone: gone.signal }).getReader();
    await reader.read();
    const next = reader.read(); // the upstream sends nothing more
    gone.abort(new Error("client disconnected"));
    expect((await next).done).toBe(true);
    expect(seen).toMatchObject({ aborted: true, contentEvents: 1 });
    expect(cancelled).toBeDefined();
  });
});

describe("the SSE pump with the OpenAI inspector idle timeout", () => {
  it("ends a stream whose upstream goes silent with a timeout error event", async () => {
    let seen: Observation | undefined;
    let cancelled = false;
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(enc.encode(delta("a")));
      },
      cancel() {
        cancelled = true;
      },
    });
    const text = await new Response(tapSse(body, { stripUsageChunk: true, provider: "acme", onEnd: (o) => (seen = o), idleTimeoutMs: 30 })).text();
    expect(text.startsWith(delta("a"))).toBe(true);
    expect(text.slice(delta("a").length)).toMatch(
      /^data: \{"error":\{"message":"Provider 'acme' stopped sending for 30 ms; the stream was ended\.","type":"timeout_error","param":null,"code":"upstream_timeout"\}\}\n\n$/,
    );
    expect(seen).toMatchObject({ upstreamError: true, aborted: false });
    expect(cancelled).toBe(true);
  });

  it("does not time out a stream that keeps sending", async () => {
    // Fake timers: the upstream sends every 10 ms for 70 ms in all, past the 40 ms idle timeout, so a
    // watchdog that did not re-arm on each chunk would fire; no real time passes.
    vi.useFakeTimers();
    const start = Date.now();
    try {
      let i = 0;
      const body = new ReadableStream<Uint8Array>(
        {
          async pull(c) {
            await vi.advanceTimersByTimeAsync(10);
            if (i++ < 6) c.enqueue(enc.encode(delta(String(i))));
            else {
              c.enqueue(enc.encode(finish() + DONE));
              c.close();
            }
          },
        },
        { highWaterMark: 0 },
      );
      const text = await new Response(tapSse(body, { stripUsageChunk: true, provider: "acme", onEnd: () => {}, idleTimeoutMs: 40 })).text();
      expect(text.endsWith(DONE)).toBe(true);
      expect(text).not.toContain("error");
      expect(Date.now() - start).toBe(70);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("withoutNullUsage", () => {
  it("removes only the top-level null usage member", () => {
    expect(withoutNullUsage('data: {"id":"c","choices":[],"usage":null}\n\n')).toBe('data: {"id":"c","choices":[]}\n\n');
    expect(withoutNullUsage('data: {"usage":null,"id":"c"}\n\n')).toBe('data: {"id":"c"}\n\n');
    expect(withoutNullUsage('data: {"choices":[{"delta":{"content":"\\",\\"usage\\":null"}}]}\n\n')).toBeNull();
  });
});

describe("generatedCharsIn", () => {
  it("sums generated string values without parsing, escapes included, keys inside strings ignored", () => {
    expect(generatedCharsIn('{"choices":[{"delta":{"content":"Hello"}}]}')).toBe(5);
    expect(generatedCharsIn('{"choices":[{"delta":{"content":"say \\"hi\\"","refusal":null}}]}')).toBe(10);
    expect(generatedCharsIn('{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\\"a\\":1}"}}]}}]}')).toBe(9);
    expect(generatedCharsIn('{"choices":[{"delta":{"content":"\\"content\\":\\"x\\""}}]}')).toBe(17);
    expect(generatedCharsIn('{"choices":[{"text":"abc","index":0}]}')).toBe(3);
    expect(generatedCharsIn('{"choices":[{"delta":{"role":"assistant","content":""}}]}')).toBe(0);
  });
});
