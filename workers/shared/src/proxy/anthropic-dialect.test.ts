import { describe, expect, it } from "vitest";
import errorMidStream from "../../../../test/fixtures/anthropic/stream-error-overloaded.sse?raw";
import textStream from "../../../../test/fixtures/anthropic/stream-text.sse?raw";
import toolStream from "../../../../test/fixtures/anthropic/stream-tool-use.sse?raw";
import truncated from "../../../../test/fixtures/anthropic/stream-truncated.sse?raw";
import { MAX_SSE_EVENT_BYTES } from "../openai";
import { anthropicInspector } from "./anthropic-dialect";
import type { Observation } from "./observation";
import { pumpSse, type SsePumpOptions } from "./sse-pump";

/** The pump with the Anthropic inspector, as the gateway runs it for `/v1/messages`. */
const tapAnthropicSse = (body: ReadableStream<Uint8Array>, options: Omit<SsePumpOptions, "inspector">) =>
  pumpSse(body, { ...options, inspector: anthropicInspector() });

function body(text: string, pieceSize = 29, fail = false): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  let at = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= bytes.length) return fail ? controller.error(new Error("connection reset")) : controller.close();
      controller.enqueue(bytes.slice(at, at + pieceSize));
      at += pieceSize;
    },
  });
}

async function run(text: string, opts: { fail?: boolean } = {}) {
  let observation: Observation | null = null;
  const out = await new Response(tapAnthropicSse(body(text, 29, opts.fail), { provider: "claude", onEnd: (o) => (observation = o) })).text();
  return { out, observation: observation as Observation | null };
}

describe("Anthropic SSE tap", () => {
  it("passes the bytes through unchanged and reads usage from message_start + message_delta", async () => {
    const { out, observation } = await run(textStream);
    expect(out).toBe(textStream);
    expect(observation!.usage).toEqual({
      promptTokens: 21 + 1024 + 2048,
      completionTokens: 12,
      cachedTokens: 2048,
      cacheWriteTokens: 1024,
      reasoningTokens: 0,
      totalTokens: 3105,
    });
    expect(observation!.upstreamError).toBe(false);
    expect(observation!.contentEvents).toBe(3);
  });

  it("counts tool input fragments as generated content", async () => {
    const { out, observation } = await run(toolStream);
    expect(out).toBe(toolStream);
    expect(observation!.usage).toMatchObject({ promptTokens: 472, completionTokens: 89 });
    expect(observation!.completionChars).toBeGreaterThan(40);
  });

  it("notes an upstream error event and adds nothing after it", async () => {
    const { out, observation } = await run(errorMidStream);
    expect(out).toBe(errorMidStream);
    expect(observation!.upstreamError).toBe(true);
  });

  it("ends a stream that stopped before message_stop with Anthropic's error event", async () => {
    const { out, observation } = await run(truncated);
    expect(out.startsWith(truncated)).toBe(true);
    expect(out.slice(truncated.length)).toBe(
      `event: error\ndata: {"type":"error","error":{"type":"api_error","message":"The stream from provider 'claude' broke before it was complete."}}\n\n`,
    );
    expect(observation!.upstreamError).toBe(true);
    const broken = await run(textStream.slice(0, 400), { fail: true });
    expect(broken.out).toContain("event: error");
  });

  it("rewrites an OpenAI-shaped error event from inside the gateway into Anthropic's", async () => {
    const head = textStream.split("event: content_block_stop")[0]!;
    const { out } = await run(
      `${head}data: {"error":{"message":"Provider 'claude' stopped sending for 30000 ms; the stream was ended.","type":"timeout_error","param":null,"code":"upstream_timeout"}}\n\n`,
    );
    expect(out.startsWith(head)).toBe(true);
    expect(out.slice(head.length)).toBe(
      `event: error\ndata: {"type":"error","error":{"type":"timeout_error","message":"Provider 'claude' stopped sending for 30000 ms; the stream was ended."}}\n\n`,
    );
  });

  it("treats zero usage as not reported, so the request is estimated rather than free", async () => {
    const zero = textStream
      .replace(
        /"input_tokens":21,"cache_creation_input_tokens":1024,"cache_read_input_tokens":2048/,
        '"input_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0',
      )
      .replace('"output_tokens":1,', '"output_tokens":0,')
      .replace('{"output_tokens":12}', '{"output_tokens":0}');
    const { observation } = await run(zero);
    expect(observation!.usage).toBeNull();
    expect(observation!.completionChars).toBeGreaterThan(0);
  });

  it("ends a stream whose event grows past MAX_SSE_EVENT_BYTES with Anthropic's error event, after the events before it", async () => {
    const start = textStream.slice(0, textStream.indexOf("\n\n") + 2);
    const endless = `${start}event: content_block_delta\ndata: {"type":"content_block_delta","delta":{"type":"text_delta","text":"${"a".repeat(MAX_SSE_EVENT_BYTES)}`;
    let observation: Observation | null = null;
    const out = await new Response(tapAnthropicSse(body(endless, 64 * 1024), { provider: "claude", onEnd: (o) => (observation = o) })).text();
    expect(out.startsWith(start)).toBe(true);
    expect(out.slice(start.length)).toMatch(
      /^event: error\ndata: \{"type":"error","error":\{"type":"api_error","message":"An event in the stream from provider 'claude' grew past 1048576 bytes without ending/,
    );
    expect(observation!.upstreamError).toBe(true);
  });
});
