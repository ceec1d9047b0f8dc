/**
 * Documented limit: request bodies may nest arrays/objects at most this deep. Real requests stay
 * far below it (a chat message with an image part is 5 levels, a JSON schema of a tool a few
 * dozen at most); deeper bodies exist only to make recursive code downstream (validation,
 * translation, re-serialisation) run out of stack.
 */
export const MAX_JSON_DEPTH = 64;

const QUOTE = 34;
const BACKSLASH = 92;

/**
 * Whether `text` nests `[`/`{` deeper than `max`, counted outside strings, in one pass before
 * anything parses it. String contents are skipped natively (`indexOf` to the next unescaped
 * quote), so on a typical body the loop only visits the JSON's structure. It only counts: text
 * that is not JSON is left for the parser to refuse.
 */
export function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === QUOTE) {
      let end = text.indexOf('"', i + 1);
      // A quote preceded by an odd run of backslashes is escaped: look further.
      while (end !== -1 && oddBackslashesBefore(text, end)) end = text.indexOf('"', end + 1);
      if (end === -1) return false;
      i = end;
    } else if (ch === 91 || ch === 123) {
      if (++depth > max) return true;
    } else if (ch === 93 || ch === 125) {
      depth--;
    }
  }
  return false;
}

function oddBackslashesBefore(text: string, at: number): boolean {
  let n = 0;
  while (text.charCodeAt(at - 1 - n) === BACKSLASH) n++;
  return n % 2 === 1;
}
