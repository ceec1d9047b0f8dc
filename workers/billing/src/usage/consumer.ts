import { UsageEventSchema } from "../../../shared/src/contracts/usage";
import { PriceStore } from "../prices/store";
import { insertStatement, priceEvent, type PricedUsage } from "./record";

/** Seconds before a batch that failed to reach D1 is redelivered: 2, 4, 8, … capped at 60. */
export function retryDelaySeconds(attempts: number): number {
  return Math.min(60, 2 ** Math.max(1, attempts));
}

/**
 * Consumes the `usage-events` Queue: validates every message, prices the valid ones and writes them
 * in ONE D1 batch (one transaction: all rows of the batch or none), then acks.
 *
 * - An invalid message can never become valid, so it is acked and logged (by request id, if it has
 *   one) instead of being retried into the dead-letter queue.
 * - If D1 fails, every valid message is retried with backoff; after `max_retries` (wrangler.toml)
 *   the Queue moves it to `usage-events-dlq`, so nothing accepted is silently lost.
 * - Redelivery is harmless: rows are keyed by request_id and inserted with ON CONFLICT DO NOTHING.
 */
export async function consumeUsageBatch(batch: MessageBatch<unknown>, env: BillingEnv, now = Date.now()): Promise<void> {
  const valid: { message: Message<unknown>; usage: PricedUsage }[] = [];
  const parsed: { message: Message<unknown>; event: ReturnType<typeof UsageEventSchema.parse> }[] = [];
  for (const message of batch.messages) {
    const result = UsageEventSchema.safeParse(message.body);
    if (result.success) {
      parsed.push({ message, event: result.data });
    } else {
      const requestId = (message.body as { request_id?: unknown } | null)?.request_id;
      console.error(
        JSON.stringify({
          msg: "usage event rejected: invalid message acked",
          message_id: message.id,
          request_id: typeof requestId === "string" ? requestId : null,
          issues: result.error.issues.slice(0, 5).map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`),
        }),
      );
      message.ack();
    }
  }
  if (parsed.length === 0) return;

  try {
    const book = await new PriceStore(env.BILLING_DB).book();
    for (const { message, event } of parsed) valid.push({ message, usage: priceEvent(event, book) });
    await env.BILLING_DB.batch(valid.map(({ usage }) => insertStatement(env.BILLING_DB, usage, now)));
  } catch (err) {
    console.error(
      JSON.stringify({
        msg: "usage batch not stored: will be retried",
        count: parsed.length,
        error: err instanceof Error ? err.message : String(err),
      }),
    );
    for (const { message } of parsed) message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
    return;
  }
  for (const { message } of valid) message.ack();
}
