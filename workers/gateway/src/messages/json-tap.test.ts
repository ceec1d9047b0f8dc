import { describe, expect, it } from "vitest";
import text from "../../../../test/fixtures/anthropic/message-text.json";
import toolUse from "../../../../test/fixtures/anthropic/message-tool-use.json";
import type { Observation } from "../streaming/observation";
import { tapAnthropicJson } from "./json-tap";

async function run(raw: string) {
  let observation: Observation | null = null;
  const out = await new Response(tapAnthropicJson(new Response(raw).body!, (o) => (observation = o))).text();
  return { out, observation: observation as Observation | null };
}

describe("Anthropic JSON tap", () => {
  it("passes the Message through and reads its usage (cache reads and writes in the prompt)", async () => {
    const raw = JSON.stringify(text, null, 2);
    const { out, observation } = await run(raw);
    expect(out).toBe(raw);
    expect(observation!.usage).toEqual({ promptTokens: 3093, completionTokens: 12, cachedTokens: 2048, reasoningTokens: 0, totalTokens: 3105 });
  });

  it("counts text and tool input as generated content", async () => {
    const { observation } = await run(JSON.stringify(toolUse));
    expect(observation!.usage).toMatchObject({ promptTokens: 472, completionTokens: 89 });
    expect(observation!.completionChars).toBeGreaterThan(40);
  });

  it("leaves usage unknown for a body that is not a Message", async () => {
    const { observation } = await run("{not json");
    expect(observation!.usage).toBeNull();
  });
});
