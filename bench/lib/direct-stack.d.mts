export interface DirectStack {
  /** The gateway's base URL, served by workerd itself. */
  url: string;
  adminToken: string;
  /** workerd's output. */
  log: string;
  close(): Promise<void>;
}
export function startDirectStack(options: { root: string; compatibilityDate: string; vars: Record<string, Record<string, string>> }): Promise<DirectStack>;
