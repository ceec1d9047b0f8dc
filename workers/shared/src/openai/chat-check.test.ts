import { describe, expect, it } from "vitest";
import { ChatCompletionRequestSchema } from "./chat";
import { handChecksChatRequest } from "./chat-check";

const msgs = [{ role: "user", content: "Hi" }];
/** Bodies the hand check must accept (zod accepts them, and parses them to themselves). */
const accepted: unknown[] = [
  { model: "openai/gpt-4o-mini", messages: msgs },
  {
    model: "m",
    messages: [
      { role: "system", content: "be brief" },
      { role: "developer", content: "x", name: "d" },
      { role: "user", content: "" },
      { role: "assistant", content: "ok" },
      { role: "assistant" },
    ],
  },
  { model: "m", messages: msgs, stream: true, stream_options: { include_usage: true } },
  { model: "m", messages: msgs, stream: true, stream_options: { include_usage: false, include_obfuscation: true } },
  { model: "m", messages: msgs, stream: false, stream_options: null },
  { model: "m", messages: msgs, stream: null },
  { model: "m", messages: msgs, max_tokens: 1, max_completion_tokens: 1_000_000, n: 128, seed: -5, user: "u" },
  { model: "m", messages: msgs, max_tokens: null, n: null, seed: null, temperature: null, top_p: null, presence_penalty: null, frequency_penalty: null },
  { model: "m", messages: msgs, temperature: 0, top_p: 1, presence_penalty: -2, frequency_penalty: 2 },
  { model: "x".repeat(256), messages: msgs, temperature: 2, top_p: 0.5 },
];
/** Bodies the hand check leaves to zod: invalid ones, and valid ones outside its common shape. */
const deferred: unknown[] = [
  null,
  "text",
  [],
  {},
  { model: "m" },
  { messages: msgs },
  { model: "", messages: msgs },
  { model: "x".repeat(257), messages: msgs },
  { model: 5, messages: msgs },
  { model: "m", messages: [] },
  { model: "m", messages: {} },
  { model: "m", messages: [null] },
  { model: "m", messages: [{ role: "user" }] },
  { model: "m", messages: [{ role: "user", content: 5 }] },
  { model: "m", messages: [{ role: "robot", content: "x" }] },
  { model: "m", messages: [{ role: "user", content: "x", name: "" }] },
  { model: "m", messages: [{ content: "x" }] },
  { model: "m", messages: [{ role: "assistant", content: null }] },
  { model: "m", messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }] },
  { model: "m", messages: [{ role: "tool", content: "r", tool_call_id: "c" }] },
  { model: "m", messages: [{ role: "user", content: "x", extra: 1 }] },
  { model: "m", messages: msgs, stream_options: { include_usage: true } },
  { model: "m", messages: msgs, stream: false, stream_options: { include_usage: true } },
  { model: "m", messages: msgs, stream: true, stream_options: { include_usage: "yes" } },
  { model: "m", messages: msgs, stream: true, stream_options: { other: true } },
  { model: "m", messages: msgs, stream: "true" },
  { model: "m", messages: msgs, max_tokens: 0 },
  { model: "m", messages: msgs, max_tokens: 1.5 },
  { model: "m", messages: msgs, max_completion_tokens: 1_000_001 },
  { model: "m", messages: msgs, n: 129 },
  { model: "m", messages: msgs, n: 0 },
  { model: "m", messages: msgs, seed: 1.5 },
  { model: "m", messages: msgs, seed: 1e20 },
  { model: "m", messages: msgs, temperature: 2.1 },
  { model: "m", messages: msgs, temperature: "1" },
  { model: "m", messages: msgs, top_p: -0.1 },
  { model: "m", messages: msgs, presence_penalty: 3 },
  { model: "m", messages: msgs, user: 5 },
  { model: "m", messages: msgs, top_k: 40 },
  { model: "m", messages: msgs, tools: [{ type: "function", function: { name: "f" } }] },
  { model: "m", messages: msgs, logprobs: true, top_logprobs: 2 },
  { model: "m", messages: msgs, top_logprobs: 2 },
  JSON.parse('{"model":"m","messages":[{"role":"user","content":"x"}],"__proto__":{"x":1}}'),
];

describe("handChecksChatRequest", () => {
  it.each(accepted.map((b) => [JSON.stringify(b).slice(0, 80), b]))("accepts %s, as zod does, parsed to itself", (_, body) => {
    expect(handChecksChatRequest(body)).toBe(true);
    const parsed = ChatCompletionRequestSchema.safeParse(body);
    expect(parsed.success).toBe(true);
    expect(parsed.data).toEqual(body);
  });

  it.each(deferred.map((b) => [JSON.stringify(b)?.slice(0, 80) ?? String(b), b]))("leaves %s to zod", (_, body) => {
    expect(handChecksChatRequest(body)).toBe(false);
  });

  it("accepts nothing zod refuses or would parse differently, over the deferred bodies and variations of the accepted ones", () => {
    const variations = accepted.flatMap((b) => {
      const o = b as Record<string, unknown>;
      return [
        { ...o, model: "" },
        { ...o, messages: [] },
        { ...o, stream_options: { include_usage: true }, stream: false },
        { ...o, temperature: 3 },
        { ...o, top_k: 1 },
      ];
    });
    for (const body of [...deferred, ...variations]) {
      if (handChecksChatRequest(body)) expect(ChatCompletionRequestSchema.safeParse(body).data).toEqual(body);
    }
    expect(variations.filter((b) => handChecksChatRequest(b))).toEqual([]);
  });
});
