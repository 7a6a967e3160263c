/**
 * Splits an outbound text into parts a platform accepts, for every channel: some platforms count UTF-8 bytes,
 * others UTF-16 code units. Pure: no I/O, no clock.
 *
 * Linear in the text's length: only the end of each part, where a break is chosen, is segmented
 * (src/core/text-boundaries.ts says why and how that gives the whole text's boundaries).
 */
import { GraphemeBoundaries, endsWhitespaceRun, sentenceStartsIn, wordBreaksIn } from './text-boundaries.js';

/** The most a part may hold, in the unit the platform counts. */
export type TextLimit = { maxUtf8Bytes: number } | { maxUtf16Units: number };

/** A break is preferred when it falls in the last fifth of a full part. */
const PREFERRED_BREAK_SHARE = 0.2;

type Measure = (s: string) => number;
const utf8Bytes: Measure = (s) => Buffer.byteLength(s, 'utf8');
const utf16Units: Measure = (s) => s.length;

/** The size of the text before each index, in the platform's unit. */
interface Sizes {
  /** The last index whose size is at most `size`. */
  lastWithin(size: number): number;
  /** The first index whose size is at least `size`. */
  firstFrom(size: number): number;
}

/**
 * Splits text into parts of at most the limit whose concatenation is exactly the input. Parts end on grapheme
 * boundaries (never inside an emoji ZWJ sequence, a flag or a combining sequence), preferably after a paragraph,
 * a line, a sentence or a word when one falls in the last 20 % of the part; the whitespace at a break stays at the
 * end of the earlier part. Only a single grapheme larger than the limit is cut (between code points), since it
 * cannot be sent whole.
 */
export function splitText(text: string, limit: TextLimit): string[] {
  const utf8 = 'maxUtf8Bytes' in limit;
  const [max, measure] = utf8 ? [limit.maxUtf8Bytes, utf8Bytes] : [limit.maxUtf16Units, utf16Units];
  if (measure(text) <= max) return text === '' ? [] : [text];
  const sizes = utf8 ? utf8Sizes(text) : utf16Sizes(text.length);
  const boundaries = new GraphemeBoundaries(text);
  const parts: string[] = [];
  let start = 0;
  let startSize = 0;
  /** The last part end known to be a grapheme boundary. */
  let floor = 0;
  while (start < text.length) {
    const end = partEnd(text, { index: start, size: startSize, floor }, max, measure, sizes, boundaries);
    const part = text.slice(start, end.index);
    parts.push(part);
    start = end.index;
    startSize += measure(part);
    if (end.onBoundary) floor = end.index;
  }
  return parts;
}

interface PartStart {
  index: number;
  /** The size of the text before it, as the parts so far measure it. */
  size: number;
  floor: number;
}

/**
 * Where the part starting at `start` ends: the best preferred break near the limit, else the last grapheme boundary
 * within the limit. (`start` is a grapheme boundary, except after a cut inside an oversized grapheme.)
 */
function partEnd(
  text: string,
  start: PartStart,
  max: number,
  measure: Measure,
  sizes: Sizes,
  graphemes: GraphemeBoundaries,
): { index: number; onBoundary: boolean } {
  const limitIndex = sizes.lastWithin(start.size + max);
  if (limitIndex >= text.length) return { index: text.length, onBoundary: true };
  const limit = graphemes.lastAtMost(limitIndex, start.floor);
  if (limit <= start.index) return { index: codePointCut(text, start.index, max, measure), onBoundary: false };
  // Sizes grow with the index, so the preferred breaks are the boundaries in [from, limit].
  const from = Math.max(start.index + 1, sizes.firstFrom(start.size + max * (1 - PREFERRED_BREAK_SHARE)));
  for (const breaks of breakTiers(text, from, limit)) {
    for (const index of breaks) {
      if (graphemes.isBoundary(index, start.floor)) return { index, onBoundary: true };
    }
  }
  return { index: limit, onBoundary: true };
}

/**
 * The candidate breaks in [from, to], best kind first (paragraph, line, sentence, word), each kind from the last
 * one backwards. Sentences and words are segmented only when the kinds before them had none, and from the end
 * backwards in growing windows, since the last one that is a grapheme boundary wins.
 */
function* breakTiers(text: string, from: number, to: number): Generator<Iterable<number>> {
  if (from > to) return;
  yield whitespaceRunEnds(text, from, to, 2);
  yield whitespaceRunEnds(text, from, to, 1);
  yield fromTheEnd(text, from, to, sentenceStartsIn);
  yield fromTheEnd(text, from, to, wordBreaksIn);
}

function* whitespaceRunEnds(text: string, from: number, to: number, newlines: 1 | 2): Generator<number> {
  for (let index = to; index >= from; index--) if (endsWhitespaceRun(text, index, newlines)) yield index;
}

/** Code units of the first window searched backwards for a sentence or word break; each next one is 4 times wider. */
const FIRST_SEARCH_UNITS = 64;

function* fromTheEnd(
  text: string,
  from: number,
  to: number,
  find: (text: string, from: number, to: number) => Set<number>,
): Generator<number> {
  for (let hi = to, width = FIRST_SEARCH_UNITS; hi >= from; width *= 4) {
    const lo = Math.max(from, hi - width + 1);
    yield* [...find(text, lo, hi)].sort((a, b) => b - a);
    hi = lo - 1;
  }
}

function utf16Sizes(length: number): Sizes {
  return {
    lastWithin: (size) => Math.min(length, Math.floor(size)),
    firstFrom: (size) => Math.min(length, Math.max(0, Math.ceil(size))),
  };
}

/**
 * UTF-8 bytes before each index, as `Buffer.byteLength` counts them (a lone surrogate is 3 bytes, as its
 * replacement character). Inside a surrogate pair the size is the pair's end's, so no search lands there.
 */
function utf8Sizes(text: string): Sizes {
  const n = text.length;
  const before = new Int32Array(n + 1);
  let size = 0;
  for (let i = 0; i < n; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) size += 1;
    else if (unit < 0x800) size += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < n && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      size += 4;
      before[++i] = size;
    } else size += 3;
    before[i + 1] = size;
  }
  const lastWithin = (target: number): number => {
    let low = 0;
    let high = n;
    while (low < high) {
      const mid = Math.ceil((low + high) / 2);
      if (before[mid]! <= target) low = mid;
      else high = mid - 1;
    }
    return low;
  };
  const firstFrom = (target: number): number => {
    let low = 0;
    let high = n;
    while (low < high) {
      const mid = Math.floor((low + high) / 2);
      if (before[mid]! >= target) high = mid;
      else low = mid + 1;
    }
    return low;
  };
  return { lastWithin, firstFrom };
}

/** A single grapheme over the limit (hundreds of combining marks): cut it between code points. */
function codePointCut(text: string, start: number, max: number, measure: Measure): number {
  let end = start;
  let size = 0;
  for (const cp of text.slice(start)) {
    size += measure(cp);
    if (size > max) break;
    end += cp.length;
  }
  // A limit smaller than one code point: one code unit, so the split always moves on.
  return end === start ? start + 1 : end;
}
