import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { splitText, type TextLimit } from '../src/core/split-text.js';
import { EVENT_LOOP_BUDGET_MS, eventLoopBlockingMs } from './event-loop.js';

/**
 * The straightforward splitter the linear one replaced: Intl.Segmenter over the whole text (quadratic in V8),
 * then the same choice of break. The linear splitter must give exactly its parts.
 */
function referenceSplit(text: string, limit: TextLimit): string[] {
  const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
  const words = new Intl.Segmenter(undefined, { granularity: 'word' });
  const sentences = new Intl.Segmenter(undefined, { granularity: 'sentence' });
  const [max, measure] =
    'maxUtf8Bytes' in limit ? [limit.maxUtf8Bytes, (s: string) => Buffer.byteLength(s, 'utf8')] : [limit.maxUtf16Units, (s: string) => s.length];
  if (measure(text) <= max) return text === '' ? [] : [text];
  const boundaries = [{ index: 0, size: 0 }];
  let size = 0;
  for (const { segment, index } of graphemes.segment(text)) boundaries.push({ index: index + segment.length, size: (size += measure(segment)) });
  const after = (pattern: RegExp) => new Set([...text.matchAll(pattern)].map((m) => m.index + m[0].length));
  const wordBreaks = new Set<number>();
  let previous: Intl.SegmentData | undefined;
  for (const segment of words.segment(text)) {
    if (previous && (/^\s+$/.test(previous.segment) || (previous.isWordLike && segment.isWordLike))) wordBreaks.add(segment.index);
    previous = segment;
  }
  const tiers = [after(/\n[^\S\n]*\n\s*/g), after(/\n\s*/g), new Set([...sentences.segment(text)].map((s) => s.index)), wordBreaks];
  const parts: string[] = [];
  let start = 0;
  let startSize = 0;
  while (start < text.length) {
    let last = 0;
    while (last + 1 < boundaries.length && boundaries[last + 1]!.size <= startSize + max) last++;
    let end = boundaries[last]!.index;
    if (end <= start) {
      end = start;
      let cut = 0;
      for (const cp of text.slice(start)) {
        if ((cut += measure(cp)) > max) break;
        end += cp.length;
      }
      if (end === start) end = start + 1;
    } else if (end < text.length) {
      const preferredFrom = startSize + max * 0.8;
      search: for (const tier of tiers) {
        for (let i = last; i > 0 && boundaries[i]!.index > start && boundaries[i]!.size >= preferredFrom; i--) {
          if (tier.has(boundaries[i]!.index)) {
            end = boundaries[i]!.index;
            break search;
          }
        }
      }
    }
    const part = text.slice(start, end);
    parts.push(part);
    start = end;
    startSize += measure(part);
  }
  return parts;
}

const piece = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: 'grapheme', maxLength: 30 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
  {
    weight: 6,
    arbitrary: fc.constantFrom(
      ' ', '  ', '\n', '\n\n', ' \n \n', '\r\n', '\t', '\u00a0', '\u3000', '. ', '! ', '? ', '.', ',', ':', "'", '"', '(', ')', '_', '-', '/',
      'Mr. ', 'e.g. ', '1.5', '3,000', "don't", 'U.S.A.', '...', '.) ', '." The',
      'Hello', 'world', 'The parcel left.', 'lorem ipsum dolor ', 'ABC', 'x'.repeat(60),
      '👩‍👩‍👧‍👦', '👍🏽', '🇫🇷', '🇫🇷🇩🇪', '🇺', '‍', '❤️', '#️⃣', 'e\u0301', 'e\u0301\u0323', '\u0301', 'a' + '\u0300'.repeat(40),
      '日本語の文章です。', '東京都', 'カタカナ', '中文句子，还有。', 'ไทยภาษา', '한국어 문장', 'क्षत्रिय', 'নমস্কার', 'مرحبا بالعالم',
      '\ud800', '\udc00', '\u0600', '\u0e33',
    ),
  },
);
const text = fc.array(piece, { maxLength: 150, size: 'max' }).map((pieces) => pieces.join(''));
const small = fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 40, max: 400 }), fc.integer({ min: 400, max: 1500 }));

describe('splitText (linear)', () => {
  it('gives exactly the parts of whole-text segmentation, in UTF-8 bytes (property)', () => {
    fc.assert(
      fc.property(text, small, (t, maxUtf8Bytes) => {
        expect(splitText(t, { maxUtf8Bytes })).toEqual(referenceSplit(t, { maxUtf8Bytes }));
      }),
      { numRuns: 300 },
    );
  });

  it('gives exactly the parts of whole-text segmentation, in UTF-16 units (property)', () => {
    fc.assert(
      fc.property(text, small, (t, maxUtf16Units) => {
        expect(splitText(t, { maxUtf16Units })).toEqual(referenceSplit(t, { maxUtf16Units }));
      }),
      { numRuns: 300 },
    );
  });
});

const prose = 'The parcel left our warehouse this morning 📦 and should arrive soon. Ça va très bien, merci ! 日本語の文章です。\n';
const longTexts = {
  '150 KB of prose (Latin, accents, emoji, CJK, newlines)': prose.repeat(Math.ceil(150_000 / Buffer.byteLength(prose))),
  'a 150 KB link URL': `https://example.com/track?order=${'a1b2c3d4'.repeat(150_000 / 8)}`,
  '100,000 characters of words without a sentence end': 'lorem ipsum dolor sit amet, '.repeat(100_000 / 28),
};

describe('splitText event-loop budget', () => {
  beforeAll(() => splitText(prose.repeat(50), { maxUtf8Bytes: 1000 })); // compiled before anything is measured

  for (const [name, long] of Object.entries(longTexts)) {
    for (const limit of [{ maxUtf8Bytes: 1000 }, { maxUtf16Units: 6000 }] satisfies TextLimit[]) {
      it(`splits ${name} to ${JSON.stringify(limit)} within ${EVENT_LOOP_BUDGET_MS} ms of event-loop time`, async () => {
        let parts: string[] = [];
        const blocked = await eventLoopBlockingMs(() => (parts = splitText(long, limit)));
        expect(parts.join('')).toBe(long);
        expect(blocked).toBeLessThanOrEqual(EVENT_LOOP_BUDGET_MS);
      });
    }
  }
});
