import { DurableObject } from "cloudflare:workers";

/** One instance per subject (API key or tenant): requests, tokens, concurrency and spend. */
export class RateLimiter extends DurableObject {
  /** Liveness probe for /health: answers from inside the object without touching its counters. */
  async ping(): Promise<"pong"> {
    return "pong";
  }
}
