import OpenAI, { type APIError } from "openai";
import { expect } from "vitest";

/** OpenAI SDK failures in system tests (the client itself: `openaiClient` in ./clients.ts). */

/** The SDK error a call rejects with; the test fails if the call succeeds or rejects with anything else. */
export async function sdkFailure(call: Promise<unknown>): Promise<APIError> {
  const outcome = await call.then(
    () => null,
    (e: unknown) => e,
  );
  expect(outcome, "the call should have failed").toBeInstanceOf(OpenAI.APIError);
  return outcome as APIError;
}
