/**
 * Lossless JSON for TikTok's webhook `content` strings. `comment.update` carries `comment_id`, `video_id` and
 * `parent_comment_id` as bare JSON numbers above 2^53 (e.g. 7247303576418566913), which `JSON.parse` silently
 * rounds to another id (tiktok-messaging.md key fact 35). Node 20 has no reviver `context.source`, so the text is
 * scanned once and every integer literal of 16 or more digits outside a string is quoted before `JSON.parse`.
 */

/** Integer literals with at least this many digits (sign excluded) come back as strings. 2^53 has 16 digits. */
const BIG_INTEGER_DIGITS = 16;

const FAST_PATH = new RegExp(`\\d{${BIG_INTEGER_DIGITS}}`);

/**
 * `JSON.parse`, except that integer literals of 16 or more digits (negative ones too) are returned as their exact
 * decimal strings, e.g. `{"comment_id":7600000000000000123}` → `{ comment_id: '7600000000000000123' }`.
 * Numbers with a fraction or an exponent stay numbers; digits inside strings are never touched. Throws a
 * `SyntaxError` exactly when `JSON.parse` would.
 */
export function parseJsonLosslessly(text: string): unknown {
  if (!FAST_PATH.test(text)) return JSON.parse(text);
  return JSON.parse(quoteBigIntegers(text));
}

/**
 * Rewrites `text` with its big integer literals quoted. On invalid JSON the result stays invalid: quoting turns a
 * number into a string, which is valid wherever a number is, except as an object key; a number in key position
 * is therefore left alone (so `{12345678901234567890:1}` still fails to parse).
 */
function quoteBigIntegers(text: string): string {
  const out: string[] = [];
  let copiedUpTo = 0;
  /** Open containers, innermost last: `{` or `[`. */
  const containers: string[] = [];
  /** The last structural character seen outside strings and numbers, or '' at the start. */
  let previous = '';
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      i = endOfString(text, i);
      previous = '"';
    } else if (c === MINUS || isDigit(c)) {
      const end = endOfNumber(text, i);
      const literal = text.slice(i, end);
      const digits = c === MINUS ? literal.length - 1 : literal.length;
      const isInteger = /^-?\d+$/.test(literal);
      const inKeyPosition = containers[containers.length - 1] === '{' && (previous === '{' || previous === ',');
      if (isInteger && digits >= BIG_INTEGER_DIGITS && !inKeyPosition) {
        out.push(text.slice(copiedUpTo, i), '"', literal, '"');
        copiedUpTo = end;
      }
      i = Math.max(end, i + 1);
      previous = '0';
    } else {
      const ch = text[i]!;
      if (ch === '{' || ch === '[') containers.push(ch);
      else if (ch === '}' || ch === ']') containers.pop();
      if (!isWhitespace(c)) previous = ch;
      i += 1;
    }
  }
  out.push(text.slice(copiedUpTo));
  return out.join('');
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const MINUS = 0x2d;

/** Index just past the string literal opening at `start` (or the end of the text when it is unterminated). */
function endOfString(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === BACKSLASH) i += 2;
    else if (c === QUOTE) return i + 1;
    else i += 1;
  }
  return text.length;
}

/**
 * Index just past the JSON number at `start`: `-?(0|[1-9]digits)(.digits)?([eE][+-]?digits)?`. A leading zero
 * ends the integer part, as in the grammar, so `0001234…` is never read as one big literal (and made valid).
 */
function endOfNumber(text: string, start: number): number {
  let i = start;
  if (text.charCodeAt(i) === MINUS) i += 1;
  i = text[i] === '0' ? i + 1 : skipDigits(text, i);
  if (text[i] === '.') i = skipDigits(text, i + 1);
  if (text[i] === 'e' || text[i] === 'E') {
    i += 1;
    if (text[i] === '+' || text[i] === '-') i += 1;
    i = skipDigits(text, i);
  }
  return i;
}

function skipDigits(text: string, start: number): number {
  let i = start;
  while (i < text.length && isDigit(text.charCodeAt(i))) i += 1;
  return i;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}
