import { DurableObject } from "cloudflare:workers";

/** One instance per batch: its state machine, counts and expiry alarm. */
export class BatchCoordinator extends DurableObject {
  /** Liveness probe for /health: answers from inside the object without touching batch state. */
  async ping(): Promise<"pong"> {
    return "pong";
  }
}
