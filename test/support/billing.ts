import { expect } from "vitest";
import type { Stack } from "./stack";

/** Billing's scheduled job (the daily cron that finalises closed months), run now as if at `at`. */
export async function runBillingCron(stack: Stack, at: Date): Promise<void> {
  const result = await stack.harness.getWorker("billing").scheduled({ cron: "15 0 * * *", scheduledTime: at });
  expect(result.outcome).toBe("ok");
}

/** Epoch ms of the first instant of the month after `epochMs` (UTC). */
export function nextMonthStart(epochMs: number): number {
  const d = new Date(epochMs);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

/** 'YYYY-MM' (UTC) of an instant. */
export const monthOf = (epochMs: number): string => new Date(epochMs).toISOString().slice(0, 7);
