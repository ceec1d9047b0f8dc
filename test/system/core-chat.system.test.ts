import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIXTURES } from "../fake-upstream/wire.mjs";
import { clientFor, startCoreStack, uniqueModel } from "../fake-upstream/stack";
import type { FakeUpstream } from "../fake-upstream/server";
import type { Stack } from "../support/stack";

let stack: Stack;
let upstream: FakeUpstream;
let close: () => Promise<void>;
beforeAll(async () => {
  ({ stack, upstream, close } = await startCoreStack());
});
afterAll(() => close?.());

describe("chat completions (non-streamed)", () => {
  it("returns exactly what the upstream sent and sends the upstream the provider key", async () => {
    const { client, apiKey } = await clientFor(stack);
    const model = uniqueModel("chat-text");
    const { data, response } = await client.chat.completions
      .create({ model: `fake/${model}`, messages: [{ role: "user", content: "What is the capital of France?" }] })
      .withResponse();
    expect(data).toEqual(FIXTURES["chat-text"].completion);
    expect(response.headers.get("x-gateway-provider")).toBe("fake");
    const [sent] = upstream.requests(model);
    expect(sent!.headers["authorization"]).toBe(`Bearer ${upstream.apiKey}`);
    expect(JSON.stringify(sent!.headers)).not.toContain(apiKey);
    expect(sent!.body).toEqual({ model, messages: [{ role: "user", content: "What is the capital of France?" }] });
  });
});
