/**
 * Splits an outbound text into parts a platform accepts, for every channel: some platforms count UTF-8 bytes,
 * others UTF-16 code units. Pure: no I/O, no clock.
 */

/** The most a part may hold, in the unit the platform counts. */
export type TextLimit = { maxUtf8Bytes: number } | { maxUtf16Units: number };

/** A break is preferred when it falls in the last fifth of a full part. */
const PREFERRED_BREAK_SHARE = 0.2;

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
const words = new Intl.Segmenter(undefined, { granularity: 'word' });
const sentences = new Intl.Segmenter(undefined, { granularity: 'sentence' });

type Measure = (s: string) => number;
const utf8Bytes: Measure = (s) => Buffer.byteLength(s, 'utf8');
const utf16Units: Measure = (s) => s.length;

/** A grapheme boundary: its UTF-16 index and the size of the text before it. */
interface Boundary {
  index: number;
  size: number;
}

/**
 * Splits text into parts of at most the limit whose concatenation is exactly the input. Parts end on grapheme
 * boundaries (never inside an emoji ZWJ sequence, a flag or a combining sequence), preferably after a paragraph,
 * a line, a sentence or a word when one falls in the last 20 % of the part; the whitespace at a break stays at the
 * end of the earlier part. Only a single grapheme larger than the limit is cut (between code points), since it
 * cannot be sent whole.
 */
export function splitText(text: string, limit: TextLimit): string[] {
  const [max, measure] = 'maxUtf8Bytes' in limit ? [limit.maxUtf8Bytes, utf8Bytes] : [limit.maxUtf16Units, utf16Units];
  if (measure(text) <= max) return text === '' ? [] : [text];
  const boundaries = graphemeBoundaries(text, measure);
  const tiers = breakTiers(text);
  const parts: string[] = [];
  let start = 0;
  let startSize = 0;
  while (start < text.length) {
    const end = partEnd(text, { index: start, size: startSize }, max, measure, boundaries, tiers);
    const part = text.slice(start, end);
    parts.push(part);
    start = end;
    startSize += measure(part);
  }
  return parts;
}

/** Every grapheme boundary, in order, from 0 to the end of the text. */
function graphemeBoundaries(text: string, measure: Measure): Boundary[] {
  const boundaries: Boundary[] = [{ index: 0, size: 0 }];
  let size = 0;
  for (const { segment, index } of graphemes.segment(text)) {
    size += measure(segment);
    boundaries.push({ index: index + segment.length, size });
  }
  return boundaries;
}

/** Candidate break indices, best kind first: paragraph, line, sentence, word. */
function breakTiers(text: string): Array<Set<number>> {
  return [
    afterMatches(text, /\n[^\S\n]*\n\s*/g),
    afterMatches(text, /\n\s*/g),
    new Set([...sentences.segment(text)].map((s) => s.index)),
    wordBreaks(text),
  ];
}

function afterMatches(text: string, pattern: RegExp): Set<number> {
  return new Set([...text.matchAll(pattern)].map((m) => m.index + m[0].length));
}

/** After whitespace, or between two words (CJK text has no spaces); never before punctuation or after a bracket. */
function wordBreaks(text: string): Set<number> {
  const breaks = new Set<number>();
  let previous: Intl.SegmentData | undefined;
  for (const segment of words.segment(text)) {
    if (previous && (/^\s+$/.test(previous.segment) || (previous.isWordLike && segment.isWordLike))) breaks.add(segment.index);
    previous = segment;
  }
  return breaks;
}

/**
 * Where the part starting at `start` ends: the best preferred break near the limit, else the last grapheme boundary
 * within the limit. (`start` is a grapheme boundary, except after a cut inside an oversized grapheme.)
 */
function partEnd(text: string, start: Boundary, max: number, measure: Measure, boundaries: Boundary[], tiers: Array<Set<number>>): number {
  const last = lastWithin(boundaries, start.size + max);
  const limit = boundaries[last]!.index;
  if (limit <= start.index) return codePointCut(text, start.index, max, measure);
  if (limit === text.length) return limit;
  const preferredFrom = start.size + max * (1 - PREFERRED_BREAK_SHARE);
  for (const tier of tiers) {
    for (let i = last; i > 0; i--) {
      const { index, size } = boundaries[i]!;
      if (index <= start.index || size < preferredFrom) break;
      if (tier.has(index)) return index;
    }
  }
  return limit;
}

/** The position in `boundaries` of the last boundary whose size is at most `size` (the first one's is 0). */
function lastWithin(boundaries: Boundary[], size: number): number {
  let low = 0;
  let high = boundaries.length - 1;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (boundaries[mid]!.size <= size) low = mid;
    else high = mid - 1;
  }
  return low;
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
