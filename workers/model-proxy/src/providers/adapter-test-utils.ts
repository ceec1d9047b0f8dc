import { afterEach, vi } from "vitest";
import type { ProviderConfig } from "./types";

/**
 * Test helpers for provider adapters: a stubbed upstream `fetch` that records what the adapter
 * sent, the call context the dispatcher passes, and the Gemini provider the google tests share.
 */

/** One upstream call as the adapter made it. */
export interface RecordedCall {
  url: string;
  init: RequestInit;
}

/**
 * Call once at the top of a test file. `stubFetch(response)` replaces the global `fetch` with one
 * that answers `response()` and records each call in `calls` (emptied by every `stubFetch`); the
 * real `fetch` is restored after each test.
 */
export function fetchRecorder() {
  const calls: RecordedCall[] = [];
  afterEach(() => vi.unstubAllGlobals());
  return {
    calls,
    stubFetch(response: () => Response): void {
      calls.length = 0;
      vi.stubGlobal("fetch", async (url: string, init: RequestInit) => {
        calls.push({ url, init });
        return response();
      });
    },
    /** The first call's JSON body. */
    sentBody: () => JSON.parse(String(calls[0]!.init.body)) as Record<string, unknown>,
    /** The first call's headers. */
    sentHeaders: () => new Headers(calls[0]!.init.headers),
  };
}

/** The per-call context an adapter receives from the dispatcher. */
export const callContext = (forceStreamUsage = false) => ({ requestId: "req_1", signal: new AbortController().signal, forceStreamUsage });

/** A Gemini API provider with a syntactically real key. */
export const geminiProvider = (over: Partial<ProviderConfig> = {}): ProviderConfig => ({
  id: "p2",
  name: "gemini",
  type: "google",
  baseUrl: "https://generativelanguage.googleapis.com/v1beta",
  apiKey: "AIzaSyTestKey000000000000000000000",
  headers: {},
  timeoutMs: 30_000,
  models: null,
  ...over,
});
