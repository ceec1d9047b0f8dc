export type FixtureName = "chat-text" | "chat-tools" | "chat-json" | "chat-reasoning" | "completion-text";
export interface Fixture {
  description: string;
  completion: Record<string, unknown>;
  chunks: Record<string, unknown>[];
  usage: Record<string, unknown>;
}
export const FIXTURES: Record<FixtureName, Fixture>;
export const ERRORS: Record<
  "400" | "401" | "404" | "429" | "500" | "503",
  { error: { message: string; type: string; param: string | null; code: string | null } }
>;
export function defaultFixture(operation: "chat" | "completions", body: Record<string, unknown>): FixtureName;
export function renderJson(fixture: FixtureName): string;
export function renderEvents(fixture: FixtureName, body: Record<string, unknown>): string[];
export function vectorFor(text: string, dimensions: number): number[];
export function base64Of(vector: number[]): string;
export function renderEmbeddings(body: Record<string, unknown>): string;
