import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The log scan: every Worker's log output of a test run, checked for what must never be logged —
 * API keys (ours, `sk-<env>-…`, and vendors' `sk-…`), bearer credentials, JWS/JWT (principal,
 * admin-context and session tokens), and every literal secret or prompt a test registered. Returns
 * the offending lines (file, line number, what matched), for the failure message.
 */
export interface LogFinding {
  file: string;
  line: number;
  what: string;
  text: string;
}

const SHAPES: [string, RegExp][] = [
  ["API key", /\bsk-[A-Za-z0-9_-]{16,}/],
  ["bearer credential", /\bBearer\s+(?!\[redacted\])[A-Za-z0-9._~+/=-]{8,}/i],
  ["JWS/JWT", /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+/],
  ["invite token", /\binv_[A-Za-z0-9]{20,}/],
];

/** Shorter literals would match ordinary words of a log line. */
const MIN_LITERAL_CHARS = 8;

/** Scans `files` (name → text) for secret shapes and for any of `literals` (≥ 8 characters each). */
export function scanLogs(files: Record<string, string>, literals: readonly string[] = []): LogFinding[] {
  const needles = literals.filter((l) => l.length >= MIN_LITERAL_CHARS);
  const findings: LogFinding[] = [];
  for (const [file, text] of Object.entries(files)) {
    const lines = text.split("\n");
    lines.forEach((line, i) => {
      for (const [what, re] of SHAPES) if (re.test(line)) findings.push({ file, line: i + 1, what, text: line.slice(0, 300) });
      for (const needle of needles)
        if (line.includes(needle)) findings.push({ file, line: i + 1, what: "registered secret or prompt", text: line.slice(0, 300) });
    });
  }
  return findings;
}

/** Where every stack of a run leaves its Workers' logs (./stack.ts), and the run's registered literals. */
export const LOG_DIR = fileURLToPath(new URL("../../test-results/logs/", import.meta.url));
const SECRETS_FILE = () => join(LOG_DIR, `registered-${process.pid}.txt`);
const registered = new Set<string>();

/**
 * Registers a value no Worker may ever log — a password, the admin token, a provider key, a prompt
 * the fake upstream received — for the run's final scan (./log-scan-setup.ts). Kept in a file of
 * the test process (git-ignored), because the scan runs in vitest's main process after every file.
 */
export function registerSecret(value: string): void {
  if (value.length < MIN_LITERAL_CHARS || registered.has(value)) return;
  registered.add(value);
  mkdirSync(LOG_DIR, { recursive: true });
  appendFileSync(SECRETS_FILE(), `${JSON.stringify(value)}\n`);
}

/**
 * The strings of a request body a user wrote — message contents, prompts, instructions, inputs —
 * for `registerSecret`. Walks the body (OpenAI, Anthropic, Gemini and Responses shapes alike),
 * bounded to a few hundred strings so a large batch body costs little.
 */
export function promptTexts(body: unknown, out: string[] = [], depth = 0): string[] {
  if (depth > 12 || out.length > 500) return out;
  if (Array.isArray(body)) for (const v of body) promptTexts(v, out, depth + 1);
  else if (body && typeof body === "object")
    for (const [k, v] of Object.entries(body)) {
      if (typeof v === "string" && PROMPT_FIELDS.has(k)) out.push(v);
      else promptTexts(v, out, depth + 1);
    }
  return out;
}
const PROMPT_FIELDS = new Set(["content", "text", "prompt", "input", "instructions", "system"]);

/** Every saved log and registered literal of this run (files modified since `since`), scanned. */
export function scanRun(since: number): { files: number; literals: number; findings: LogFinding[] } {
  if (!existsSync(LOG_DIR)) return { files: 0, literals: 0, findings: [] };
  const logs: Record<string, string> = {};
  const literals = new Set<string>();
  for (const name of readdirSync(LOG_DIR)) {
    const path = join(LOG_DIR, name);
    if (statSync(path).mtimeMs < since) continue;
    const text = readFileSync(path, "utf8");
    if (name.startsWith("registered-")) for (const line of text.split("\n")) line && literals.add(JSON.parse(line) as string);
    else logs[name] = text;
  }
  return { files: Object.keys(logs).length, literals: literals.size, findings: scanLogs(logs, [...literals]) };
}
