/**
 * Grapheme, sentence and word boundaries of a long text, found near given positions without segmenting the whole
 * text. Pure: no I/O, no clock.
 *
 * Why: V8's `Intl.Segmenter` spends time proportional to the length of the string on every segment it yields
 * (measured on Node 20: about 28 µs per segment of a 100,000-character string, 1.5 µs in a 1,000-character one),
 * so segmenting a whole text is quadratic: 100k characters took 7.5 s. Segmenting short windows is linear, and
 * these functions choose windows whose boundaries are exactly the whole text's, by the rules of Unicode's text
 * segmentation (UAX #29, https://www.unicode.org/reports/tr29/):
 * - A grapheme boundary depends only on the text before it and the one code point after it. So a window that
 *   starts at a known boundary yields true boundaries everywhere inside it, whatever its end.
 * - Sentence and word boundaries look further: back over a terminator's closing punctuation and spaces, ahead to
 *   the next letter (SB8), across in-word punctuation (WB6, WB7, WB11, WB12), and over a whole run of CJK or Thai
 *   letters (ICU segments those with a dictionary). A window starting at a sync point (below) and ending just after
 *   a stop character (below) sees all of that context. Where the text has no sync point or no stop character for
 *   `CONTEXT_UNITS` code units (a long run without ASCII spaces, newlines or punctuation), the window is cut there:
 *   a sentence or word decision needing more context than that may then differ from whole-text segmentation.
 */

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
const words = new Intl.Segmenter(undefined, { granularity: 'word' });
const sentences = new Intl.Segmenter(undefined, { granularity: 'sentence' });

/** Code units per grapheme window: long enough to amortise a call, short enough that each segment stays cheap. */
const MIN_WINDOW_UNITS = 16;
const MAX_WINDOW_UNITS = 256;
/** How far to look for a sync point before, or a stop character after, a range (see the file comment). */
const CONTEXT_UNITS = 64;
/** How far back to look for a grapheme boundary decidable from two code points, before falling back to a known one. */
const GRAPHEME_SYNC_SCAN = 32;

const LF = 0x0a;
const CR = 0x0d;

/**
 * A code point before which no grapheme rule looks further back than the pair: not an extender or joiner (GB9,
 * GB9c, GB11: marks, ZWJ, ZWNJ, emoji modifiers, tags, halfwidth sound marks), not a regional indicator (GB12/13)
 * and not a surrogate or unassigned code point.
 */
const PAIR_DEPENDS_ON_MORE = /[\p{M}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Lm}\p{Sk}\p{Regional_Indicator}]/u;

/**
 * Grapheme boundaries near the positions asked for. It remembers the last range it segmented, so a grapheme far
 * longer than a part (a letter with thousands of combining marks) is segmented once, not once a part, and
 * questions about positions below one another reuse the same segmentation.
 */
export class GraphemeBoundaries {
  /** Every boundary from `known[0]` to `known.at(-1)`, ascending. */
  private known: number[] = [];

  constructor(private readonly text: string) {}

  /** The last boundary at or before `index`. `floor` is a boundary at or before it that is already known. */
  lastAtMost(index: number, floor: number): number {
    const known = this.around(index, floor);
    return known[lastAtMost(known, index)]!;
  }

  /** Whether `index` is a boundary. `floor` is a boundary before it that is already known. */
  isBoundary(index: number, floor: number): boolean {
    const byPair = this.pairVerdict(index);
    if (byPair !== undefined) return byPair;
    const known = this.around(index, floor);
    return known[lastAtMost(known, index)] === index;
  }

  /**
   * Every boundary from one at or below `index` to the first after `index` (or the end), ascending. Without a
   * boundary decidable just below `index`, it segments from `floor`.
   */
  private around(index: number, floor: number): readonly number[] {
    const first = this.known[0];
    const last = this.known.at(-1);
    if (first === undefined || last === undefined || first > index || last < index) {
      const known = last !== undefined && last <= index ? Math.max(floor, last) : floor;
      this.known = [this.syncBefore(index, known)];
    }
    this.extendPast(index);
    return this.known;
  }

  /** A boundary before `index` decidable from its two neighbouring code points, else `floor`. */
  private syncBefore(index: number, floor: number): number {
    for (let p = index - 1; p > floor && p >= index - GRAPHEME_SYNC_SCAN; p--) {
      if (this.pairVerdict(p) === true) return p;
    }
    return floor;
  }

  /**
   * Whether `p` is a boundary, when its two neighbouring code points decide it whatever precedes them (see
   * PAIR_DEPENDS_ON_MORE); undefined when they do not.
   */
  private pairVerdict(p: number): boolean | undefined {
    const { text } = this;
    if (p <= 0 || p >= text.length) return true;
    const x = text.charCodeAt(p - 1);
    const y = text.charCodeAt(p);
    if (x === LF) return true; // GB4
    if (x < 0x80 && y < 0x80) return !(x === CR && y === LF); // GB3; no other rule joins two ASCII characters
    if (isHighSurrogate(x) && isLowSurrogate(y)) return false; // inside a code point
    const before = String.fromCodePoint(codePointBefore(text, p));
    if (PAIR_DEPENDS_ON_MORE.test(before)) return undefined;
    const after = String.fromCodePoint(text.codePointAt(p)!);
    return graphemes.segment(before + after).containing(before.length)?.index === before.length;
  }

  /** Appends boundaries until one lies after `hi` or the end of the text is reached. */
  private extendPast(hi: number): void {
    const { text, known } = this;
    const n = text.length;
    let p = known.at(-1)!;
    let grow = 1;
    while (p < n && p <= hi) {
      if (isAsciiPairBoundary(text, p + 1)) {
        known.push(++p);
        continue;
      }
      // Up to just past `hi`, within bounds; doubled while one grapheme fills the whole window.
      const window = Math.min(Math.max(hi + 2 - p, MIN_WINDOW_UNITS), MAX_WINDOW_UNITS) * grow;
      // The window ends between code points: a boundary depends on the whole code point after it.
      const end = codePointFloor(text, Math.min(n, p + window));
      let reached = p;
      for (const { index, segment } of graphemes.segment(text.slice(p, end))) {
        const boundary = p + index + segment.length;
        // The window's own end is a boundary only when it is the text's end.
        if (boundary < end || end === n) known.push((reached = boundary));
      }
      grow = reached === p ? grow * 2 : 1;
      p = reached;
    }
  }
}

/** The position in `sorted` of its last element at most `value` (the first is at most `value`). */
function lastAtMost(sorted: readonly number[], value: number): number {
  let low = 0;
  let high = sorted.length - 1;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (sorted[mid]! <= value) low = mid;
    else high = mid - 1;
  }
  return low;
}

/** `p` follows an ASCII character and precedes one (or the end): always a boundary, except inside CR LF. */
function isAsciiPairBoundary(text: string, p: number): boolean {
  const x = text.charCodeAt(p - 1);
  if (x >= 0x80) return false;
  if (p === text.length) return true;
  const y = text.charCodeAt(p);
  return y < 0x80 && !(x === CR && y === LF);
}

/**
 * True when `p` ends a run of whitespace (JavaScript `\s`) holding at least `newlines` line feeds: where a global
 * match of `\n\s*` (one) or of `\n[^\S\n]*\n\s*` (two) ends, since `\s*` runs to the end of the whitespace.
 */
export function endsWhitespaceRun(text: string, p: number, newlines: 1 | 2): boolean {
  if (p === 0 || !isWhitespace(text.charCodeAt(p - 1)) || (p < text.length && isWhitespace(text.charCodeAt(p)))) return false;
  let seen = 0;
  for (let i = p - 1; i >= 0 && isWhitespace(text.charCodeAt(i)); i--) {
    if (text.charCodeAt(i) === LF && ++seen === newlines) return true;
  }
  return false;
}

const NON_ASCII_WHITESPACE = /\s/;

/** JavaScript's `\s` for one UTF-16 unit (every character it matches is a single unit). */
function isWhitespace(unit: number): boolean {
  if (unit < 0x80) return unit === 0x20 || (unit >= 0x09 && unit <= 0x0d);
  return NON_ASCII_WHITESPACE.test(String.fromCharCode(unit));
}

/** Sentence starts in [from, to], as `Intl.Segmenter` finds them in the whole text. */
export function sentenceStartsIn(text: string, from: number, to: number): Set<number> {
  const starts = new Set<number>();
  if (from > to) return starts;
  const [start, end] = contextWindow(text, from, to);
  for (const { index } of sentences.segment(text.slice(start, end))) {
    const at = start + index;
    if (index > 0 && at >= from && at <= to) starts.add(at);
  }
  return starts;
}

/**
 * Word breaks in [from, to], as in the whole text: after whitespace, or between two word-like segments (CJK text
 * has no spaces); never before punctuation or after a bracket.
 */
export function wordBreaksIn(text: string, from: number, to: number): Set<number> {
  const breaks = new Set<number>();
  if (from > to) return breaks;
  const [start, end] = contextWindow(text, from, to);
  let previous: Intl.SegmentData | undefined;
  for (const segment of words.segment(text.slice(start, end))) {
    const at = start + segment.index;
    if (at > to) break;
    const breaksHere = previous && (/^\s+$/.test(previous.segment) || (previous.isWordLike && segment.isWordLike));
    if (breaksHere && at >= from) breaks.add(at);
    previous = segment;
  }
  return breaks;
}

/** The window [start, end) for sentence and word boundaries in [from, to] (see the file comment). */
function contextWindow(text: string, from: number, to: number): [number, number] {
  let start = Math.max(0, from - 1 - CONTEXT_UNITS);
  for (let p = from - 1; p > start; p--) {
    if (isSyncPoint(text, p)) {
      start = p;
      break;
    }
  }
  const limit = Math.min(text.length, to + CONTEXT_UNITS);
  let end = limit;
  for (let j = to; j < limit; j++) {
    if (STOP.test(text[j]!)) {
      // One code point more: in-word punctuation decides on the character after the next (WB6, WB12).
      end = Math.min(text.length, j + 2);
      if (isLowSurrogate(text.charCodeAt(end))) end++;
      break;
    }
  }
  return [codePointFloor(text, start), codePointFloor(text, end)];
}

/**
 * After a line feed (SB4, WB3a, GB4: every rule starts afresh), or after a space or ASCII punctuation that is not
 * in-word (`.,:;'_`) before a letter, digit or symbol that neither closes a sentence nor joins words (or before a
 * CJK letter). Such a position is a word boundary, no rule carries context across it (SB5-SB11, WB4-WB16), and no
 * dictionary run spans it, so segmenting from there gives the whole text's boundaries after it.
 */
function isSyncPoint(text: string, p: number): boolean {
  const x = text[p - 1]!;
  if (x === '\n') return true;
  return SYNC_BEFORE.test(x) && SYNC_AFTER.test(String.fromCodePoint(text.codePointAt(p)!));
}

const SYNC_BEFORE = /^[\t\r !"#$%&()*+\-/<=>?@[\\\]^`{|}~\u3001\u3002\uff01\uff1f]$/;
const SYNC_AFTER = /^(?:[!#$%&*+\-/0-9<=>?@A-Z\\^_`a-z|~]|(?=\p{Lo})[\p{sc=Han}\p{sc=Hiragana}\p{sc=Katakana}\p{sc=Hangul}])$/u;
/**
 * A character that ends the look-ahead of every sentence and word rule (an ASCII letter, a line feed, `!` or `?`,
 * and their CJK counterparts `。！？`) and never lies inside a dictionary run.
 */
const STOP = /^[A-Za-z\n\r!?\u3002\uff01\uff1f]$/;

/** `index`, or one less when it falls inside a surrogate pair. */
function codePointFloor(text: string, index: number): number {
  return index > 0 && index < text.length && isLowSurrogate(text.charCodeAt(index)) && isHighSurrogate(text.charCodeAt(index - 1)) ? index - 1 : index;
}

function codePointBefore(text: string, p: number): number {
  const last = text.charCodeAt(p - 1);
  return isLowSurrogate(last) && p >= 2 && isHighSurrogate(text.charCodeAt(p - 2)) ? text.codePointAt(p - 2)! : last;
}

function isHighSurrogate(unit: number): boolean {
  return unit >= 0xd800 && unit <= 0xdbff;
}

function isLowSurrogate(unit: number): boolean {
  return unit >= 0xdc00 && unit <= 0xdfff;
}
