/**
 * Reading `GET /metrics` in system tests: a strict parser of the Prometheus text exposition format
 * 0.0.4 (HELP and TYPE before a family's samples, label values unescaped, histogram series only as
 * `_bucket`/`_sum`/`_count`), so a test asserts exact numbers of exact series instead of substrings.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  /** Declared families: name → type. */
  types: Map<string, string>;
  samples: Sample[];
  /** The value of the one sample with exactly these labels; undefined if there is none. */
  value(name: string, labels?: Record<string, string>): number | undefined;
  /** The sum over every sample of `name` whose labels include `match`. */
  sum(name: string, match?: Record<string, string>): number;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf("=", i);
    const name = text.slice(i, eq);
    if (eq < 0 || !NAME.test(name) || text[eq + 1] !== '"') throw new Error(`bad label in: ${line}`);
    let value = "";
    let j = eq + 2;
    for (; j < text.length && text[j] !== '"'; j++) {
      if (text[j] === "\\") {
        const next = text[++j];
        value +=
          next === "n"
            ? "\n"
            : next === "\\"
              ? "\\"
              : next === '"'
                ? '"'
                : (() => {
                    throw new Error(`bad escape in: ${line}`);
                  })();
      } else value += text[j];
    }
    if (j >= text.length) throw new Error(`unterminated label value in: ${line}`);
    if (name in labels) throw new Error(`duplicate label ${name} in: ${line}`);
    labels[name] = value;
    i = j + 1;
    if (text[i] === ",") i++;
    else if (i < text.length) throw new Error(`bad label separator in: ${line}`);
  }
  return labels;
}

/** Family name of a sample name, given the declared families (histograms: `_bucket`, `_sum`, `_count`). */
function familyOf(name: string, types: Map<string, string>): string | undefined {
  if (types.has(name)) return name;
  const m = /^(.*)_(bucket|sum|count)$/.exec(name);
  return m && types.get(m[1]!) === "histogram" ? m[1] : undefined;
}

export function parsePrometheus(text: string): Exposition {
  if (!text.endsWith("\n")) throw new Error("the exposition must end with a newline");
  const types = new Map<string, string>();
  const helped = new Set<string>();
  const samples: Sample[] = [];
  const seen = new Set<string>();
  for (const line of text.slice(0, -1).split("\n")) {
    if (line.startsWith("# HELP ")) {
      const name = line.slice(7).split(" ")[0]!;
      if (helped.has(name)) throw new Error(`second HELP for ${name}`);
      helped.add(name);
      continue;
    }
    if (line.startsWith("# TYPE ")) {
      const [name, type] = line.slice(7).split(" ");
      if (!name || !NAME.test(name) || !["counter", "gauge", "histogram", "summary", "untyped"].includes(type!)) throw new Error(`bad TYPE line: ${line}`);
      if (types.has(name)) throw new Error(`second TYPE for ${name}`);
      types.set(name, type!);
      continue;
    }
    if (line.startsWith("#") || line === "") throw new Error(`unexpected line: ${JSON.stringify(line)}`);
    const brace = line.indexOf("{");
    const space = line.lastIndexOf(" ");
    const name = brace >= 0 ? line.slice(0, brace) : line.slice(0, space);
    const labels = brace >= 0 ? parseLabels(line.slice(brace + 1, line.lastIndexOf("}")), line) : {};
    const value = Number(line.slice(space + 1));
    if (!NAME.test(name) || Number.isNaN(value)) throw new Error(`bad sample: ${line}`);
    const family = familyOf(name, types);
    if (!family) throw new Error(`sample before its TYPE line: ${line}`);
    if (types.get(family) === "counter" && value < 0) throw new Error(`negative counter: ${line}`);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seen.has(key)) throw new Error(`duplicate series: ${line}`);
    seen.add(key);
    samples.push({ name, labels, value });
  }
  const same = (a: Record<string, string>, b: Record<string, string>) =>
    Object.keys(a).length === Object.keys(b).length && Object.entries(b).every(([k, v]) => a[k] === v);
  const includes = (a: Record<string, string>, b: Record<string, string>) => Object.entries(b).every(([k, v]) => a[k] === v);
  return {
    types,
    samples,
    value: (name, labels = {}) => samples.find((s) => s.name === name && same(s.labels, labels))?.value,
    sum: (name, match = {}) => samples.filter((s) => s.name === name && includes(s.labels, match)).reduce((n, s) => n + s.value, 0),
  };
}
