import { describe, expect, it } from "vitest";
import { observeJson, usageNearEnd } from "./json-tap";
import type { Observation } from "./observation";

async function run(text: string, pieces = 3): Promise<{ out: string; seen: Observation }> {
  const bytes = new TextEncoder().encode(text);
  const size = Math.ceil(bytes.length / pieces);
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      for (let i = 0; i < bytes.length; i += size) c.enqueue(bytes.slice(i, i + size));
      c.close();
    },
  });
  const [client, mine] = body.tee();
  const [out, seen] = await Promise.all([new Response(client).text(), observeJson(mine)]);
  return { out, seen };
}

describe("observeJson", () => {
  it("reads usage and the generated text of the body the client receives", async () => {
    const body = JSON.stringify({ choices: [{ message: { content: "Paris." } }], usage: { prompt_tokens: 9, completion_tokens: 2, total_tokens: 11 } }, null, 2);
    const { out, seen } = await run(body);
    expect(out).toBe(body);
    expect(seen.usage).toEqual({ promptTokens: 9, completionTokens: 2, cachedTokens: 0, reasoningTokens: 0, totalTokens: 11 });
    expect(seen.completionChars).toBe(6);
  });

  it("reads usage from the end of a body too large to keep whole", async () => {
    const data = "x".repeat(9 * 1024 * 1024);
    const body = `{"object":"list","data":[{"embedding":"${data}"}],"model":"m","usage":{"prompt_tokens":7,"total_tokens":7}}`;
    const { out, seen } = await run(body, 40);
    expect(out.length).toBe(body.length);
    expect(seen.usage).toMatchObject({ promptTokens: 7, totalTokens: 7 });
  });
});

describe("usageNearEnd", () => {
  it("finds the last usage object, nested braces and strings included", () => {
    expect(usageNearEnd('{"a":"}\\"usage\\":{","usage":{"prompt_tokens":1,"d":{"x":"}"}},"z":1}')).toEqual({ prompt_tokens: 1, d: { x: "}" } });
    expect(usageNearEnd('{"a":1}')).toBeNull();
  });
});
