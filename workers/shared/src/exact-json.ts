/**
 * JSON read with its numbers kept as the decimal text the file wrote (`2.5e-06`, `0.000015`), so
 * a value can be converted to an integer unit exactly — `JSON.parse` turns every number into a
 * binary float first, and `2.5e-06 × 1e12` in floats is not always `2500000`. Objects become
 * `Map`s (a key such as `__proto__` stays data). Used for imported price files
 * (`POST /admin/prices/import`); bounded by the caller's body limit and by `maxDepth` here.
 */

/** A JSON number as written. */
export class JsonNumber {
  constructor(readonly text: string) {}

  get value(): number {
    return Number(this.text);
  }
}

export type ExactJson = null | boolean | string | JsonNumber | ExactJson[] | Map<string, ExactJson>;

/** Thrown for text that is not JSON: the message names the character offset. */
export class ExactJsonError extends Error {}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const WS = /[ \t\n\r]*/y;

export function parseExactJson(text: string, maxDepth = 64): ExactJson {
  let at = 0;
  const fail = (what: string): never => {
    throw new ExactJsonError(`${what} at offset ${at}`);
  };
  const skip = () => {
    WS.lastIndex = at;
    WS.exec(text);
    at = WS.lastIndex;
  };
  const string = (): string => {
    let end = at + 1;
    for (;;) {
      end = text.indexOf('"', end);
      if (end === -1) fail("unterminated string");
      let slashes = 0;
      while (text.charCodeAt(end - 1 - slashes) === 92) slashes++;
      if (slashes % 2 === 0) break;
      end++;
    }
    let value: unknown;
    try {
      value = JSON.parse(text.slice(at, end + 1));
    } catch {
      fail("invalid string");
    }
    at = end + 1;
    return value as string;
  };
  const value = (depth: number): ExactJson => {
    skip();
    const ch = text[at];
    if (ch === "{" || ch === "[") {
      if (depth >= maxDepth) fail(`nesting deeper than ${maxDepth} levels`);
      at++;
      skip();
      if (ch === "[") {
        const list: ExactJson[] = [];
        if (text[at] === "]") {
          at++;
          return list;
        }
        for (;;) {
          list.push(value(depth + 1));
          skip();
          if (text[at] === ",") at++;
          else if (text[at] === "]") {
            at++;
            return list;
          } else fail("expected ',' or ']'");
        }
      }
      const map = new Map<string, ExactJson>();
      if (text[at] === "}") {
        at++;
        return map;
      }
      for (;;) {
        skip();
        if (text[at] !== '"') fail("expected a property name");
        const key = string();
        skip();
        if (text[at] !== ":") fail("expected ':'");
        at++;
        map.set(key, value(depth + 1));
        skip();
        if (text[at] === ",") at++;
        else if (text[at] === "}") {
          at++;
          return map;
        } else fail("expected ',' or '}'");
      }
    }
    if (ch === '"') return string();
    for (const [word, v] of [
      ["true", true],
      ["false", false],
      ["null", null],
    ] as const) {
      if (text.startsWith(word, at)) {
        at += word.length;
        return v;
      }
    }
    NUMBER.lastIndex = at;
    const m = NUMBER.exec(text);
    if (!m) return fail("unexpected character");
    at = NUMBER.lastIndex;
    return new JsonNumber(m[0]);
  };
  const result = value(0);
  skip();
  if (at !== text.length) fail("unexpected text after the JSON value");
  return result;
}

/**
 * `ceil(decimal × 10^shift)` as an exact integer, from a JSON number's text; `exact` says whether
 * nothing was rounded. Null for a negative number or one whose result would not be a safe integer.
 */
export function scaleDecimal(text: string, shift: number): { value: number; exact: boolean } | null {
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!m) return null;
  const [, sign, whole, frac = "", exp = "0"] = m;
  const digits = (whole! + frac).replace(/^0+(?=\d)/, "");
  if (/^0+$/.test(digits)) return { value: 0, exact: true };
  if (sign === "-") return null;
  const power = Number(exp) - frac.length + shift;
  if (!Number.isSafeInteger(power) || power > 30) return null;
  let n: bigint;
  let exact = true;
  if (power >= 0) {
    n = BigInt(digits) * 10n ** BigInt(power);
  } else {
    const cut = digits.length + power;
    const kept = cut > 0 ? digits.slice(0, cut) : "0";
    const dropped = cut > 0 ? digits.slice(cut) : digits;
    n = BigInt(kept);
    if (/[1-9]/.test(dropped)) {
      n += 1n;
      exact = false;
    }
  }
  return n <= BigInt(Number.MAX_SAFE_INTEGER) ? { value: Number(n), exact } : null;
}
