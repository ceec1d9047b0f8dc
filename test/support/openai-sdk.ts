import OpenAI, { type APIError, type ClientOptions } from "openai";
import { expect } from "vitest";
import type { Stack } from "./stack";

/** An OpenAI SDK client on the gateway's `/v1` that never retries, so each call is exactly one request. */
export function gatewayClient(stack: Stack, apiKey: string, extra: Partial<ClientOptions> = {}): OpenAI {
  return new OpenAI({ apiKey, baseURL: `${stack.url}/v1`, maxRetries: 0, ...extra });
}

/** The SDK error a call rejects with; the test fails if the call succeeds or rejects with anything else. */
export async function sdkFailure(call: Promise<unknown>): Promise<APIError> {
  const outcome = await call.then(
    () => null,
    (e: unknown) => e,
  );
  expect(outcome, "the call should have failed").toBeInstanceOf(OpenAI.APIError);
  return outcome as APIError;
}
