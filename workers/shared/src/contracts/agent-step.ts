import { z } from "zod";

/**
 * tail's response runs (durable-objects/agent-run.ts) → the gateway's `AgentStepService.run`: one
 * model step of a Responses/agentic run, a `POST /v1/chat/completions` run through the gateway's
 * own request path (validation, model check, limits and budget reserved before the call, routing
 * and fallbacks in model-proxy, metering) exactly as an interactive request is — never a side door.
 */
export const AgentStepRequestSchema = z
  .object({
    responseId: z.string().regex(/^resp_[A-Za-z0-9]{1,64}$/),
    tenantId: z.string().min(1).max(128),
    /** The key that created the run: each step runs as that key, re-authenticated when it runs. */
    keyId: z.string().min(1).max(128),
    /** 1-based step number: with the response id, the step's request id (billed once however often it runs). */
    step: z.number().int().positive().max(10_000),
    /** The chat completion request, as JSON text. */
    body: z.string().max(4 * 1024 * 1024),
  })
  .strict();
export type AgentStepRequest = z.infer<typeof AgentStepRequestSchema>;

/** The answer the client would have seen: status, the step's request id, body text, and its cost when priced. */
export interface AgentStepOutcome {
  status: number;
  requestId: string;
  body: string;
  /** `x-gateway-cost-usd` of the step (decimal string), null when the model has no price. */
  costUsd: string | null;
}

/** The request id of a run's step: server-made from the response id and step number. */
export const agentStepRequestId = (responseId: string, step: number): string => `req_${responseId.replace(/^resp_/, "")}_s${step}`;
