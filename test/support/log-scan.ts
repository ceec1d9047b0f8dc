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

/** Scans `files` (name → text) for secret shapes and for any of `literals` (≥ 8 characters each). */
export function scanLogs(files: Record<string, string>, literals: readonly string[] = []): LogFinding[] {
  const needles = literals.filter((l) => l.length >= 8);
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
