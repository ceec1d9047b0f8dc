import { describe, expect, it } from "vitest";
import type { Message, RawMessageStreamEvent } from "@anthropic-ai/sdk/resources/messages";
import chatText from "../../../../../test/fixtures/openai/chat-text.json";
import chatTools from "../../../../../test/fixtures/openai/chat-tools.json";
import { SseParser } from "../../../../shared/src";
import type { ChatCompletion } from "../chat-translation";
import { translateSse } from "../translation-test-utils";
import { toAnthropicMessage } from "./inbound-response";
import { openAIToAnthropicStream } from "./inbound-stream";

type Fixture = { completion: unknown; chunks: unknown[]; usage: unknown };

/** The fixture as an OpenAI server streams it when asked for usage. */
function openAISse(fixture: Fixture, { usage = true, done = true } = {}): string {
  let out = fixture.chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`).join("");
  const first = fixture.chunks[0] as { id: string; model: string; created: number };
  if (usage)
    out += `data: ${JSON.stringify({ id: first.id, object: "chat.completion.chunk", created: first.created, model: first.model, choices: [], usage: fixture.usage })}\n\n`;
  if (done) out += "data: [DONE]\n\n";
  return out;
}

async function events(sse: string) {
  const text = await translateSse(sse, openAIToAnthropicStream({ model: "fallback-model" }));
  const parser = new SseParser();
  return [...parser.push(text), ...parser.end()].map((e) => ({ event: e.event, data: JSON.parse(e.data) as Record<string, unknown> }));
}

/** Folds Anthropic events into a Message the way @anthropic-ai/sdk's MessageStream does. */
function accumulate(list: { event: string | null; data: Record<string, unknown> }[]): Message | null {
  let message: Message | null = null;
  const json: Record<number, string> = {};
  for (const { data: raw } of list) {
    const data = raw as unknown as RawMessageStreamEvent;
    if (data.type === "message_start") message = structuredClone(data.message);
    if (!message) continue;
    if (data.type === "content_block_start") message.content[data.index] = structuredClone(data.content_block);
    else if (data.type === "content_block_delta") {
      const block = message.content[data.index];
      if (data.delta.type === "text_delta" && block?.type === "text") block.text += data.delta.text;
      if (data.delta.type === "thinking_delta" && block?.type === "thinking") block.thinking += data.delta.thinking;
      if (data.delta.type === "input_json_delta") json[data.index] = (json[data.index] ?? "") + data.delta.partial_json;
    } else if (data.type === "content_block_stop" && json[data.index] !== undefined) {
      const block = message.content[data.index];
      if (block?.type === "tool_use") block.input = JSON.parse(json[data.index] ?? "");
    } else if (data.type === "message_delta") {
      message.stop_reason = data.delta.stop_reason;
      for (const [k, v] of Object.entries(data.usage)) if (v !== null && v !== undefined) (message.usage as unknown as Record<string, unknown>)[k] = v;
    }
  }
  return message;
}

describe("OpenAI chunks → Anthropic Messages events", () => {
  it("names every event and follows Anthropic's order: start, blocks, delta, stop", async () => {
    const list = await events(openAISse(chatText as Fixture));
    expect(list.every((e) => e.event === e.data["type"])).toBe(true);
    const order = list.map((e) => e.event);
    expect(order.slice(0, 3)).toEqual(["message_start", "ping", "content_block_start"]);
    expect(order.slice(-3)).toEqual(["content_block_stop", "message_delta", "message_stop"]);
    expect(order.filter((e) => e === "content_block_delta").length).toBeGreaterThan(1);
  });

  it("accumulates to exactly the non-streamed translation (text, stop reason, usage)", async () => {
    const streamed = accumulate(await events(openAISse(chatText as Fixture)));
    const whole = toAnthropicMessage((chatText as Fixture).completion as ChatCompletion);
    expect(streamed!.content).toEqual(whole.content);
    expect(streamed!.stop_reason).toBe(whole.stop_reason);
    expect(streamed!.usage).toEqual(whole.usage);
    expect(streamed!.id).toBe(whole.id);
  });

  it("streams each tool call as its own tool_use block with input_json_delta fragments", async () => {
    const list = await events(openAISse(chatTools as Fixture));
    const starts = list.filter((e) => e.event === "content_block_start").map((e) => e.data["content_block"]);
    expect(starts).toEqual([
      { type: "tool_use", id: "call_Qd8nVZl1sYkT0pE3mR2wX9aB", name: "get_weather", input: {} },
      { type: "tool_use", id: "call_7HwLk2PqZ9sN4dX1vB8mT0cE", name: "get_time", input: {} },
    ]);
    const streamed = accumulate(list);
    const whole = toAnthropicMessage((chatTools as Fixture).completion as ChatCompletion);
    expect(streamed!.content).toEqual(whole.content);
    expect(streamed!.stop_reason).toBe("tool_use");
    expect(streamed!.usage).toEqual(whole.usage);
  });

  it("turns an OpenAI error event into Anthropic's error event", async () => {
    const first = (chatText as Fixture).chunks
      .slice(0, 3)
      .map((c) => `data: ${JSON.stringify(c)}\n\n`)
      .join("");
    const list = await events(
      `${first}data: {"error":{"message":"Provider 'x' failed (HTTP 503): overloaded","type":"upstream_error","param":null,"code":"upstream_unavailable"}}\n\n`,
    );
    const last = list.at(-1)!;
    expect(last.event).toBe("error");
    expect(last.data).toEqual({ type: "error", error: { type: "overloaded_error", message: "Provider 'x' failed (HTTP 503): overloaded" } });
    expect(list.some((e) => e.event === "message_stop")).toBe(false);
  });

  it("ends a stream that stopped before its finish reason with an error, not a message_stop", async () => {
    const cut = (chatText as Fixture).chunks
      .slice(0, 3)
      .map((c) => `data: ${JSON.stringify(c)}\n\n`)
      .join("");
    const list = await events(cut);
    expect(list.at(-1)!.event).toBe("error");
    expect(list.some((e) => e.event === "message_stop")).toBe(false);
  });

  it("completes an answer whose server omitted [DONE]; reports 0 usage when the upstream reported none", async () => {
    const list = await events(openAISse(chatText as Fixture, { usage: false, done: false }));
    expect(list.at(-1)!.event).toBe("message_stop");
    const delta = list.find((e) => e.event === "message_delta")!;
    expect(delta.data["usage"]).toMatchObject({ input_tokens: 0, output_tokens: 0 });
  });
});
