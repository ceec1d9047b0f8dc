export interface WorkerSpec {
  name: string;
  config: string;
  envInterface: string;
  bound: string[];
  typesOut?: string;
}
export const WORKERS: WorkerSpec[];
export const OPTIONAL_SECRETS: Record<string, string[]>;
export const D1_DATABASES: { name: string; config: string }[];
export function byName(name: string): WorkerSpec;
export function typesOutOf(w: WorkerSpec): string;
