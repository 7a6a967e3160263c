import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseJsonLosslessly } from '../src/channels/tiktok/json.js';

/** A bare integer literal to embed in generated JSON text: 16 to 40 digits, maybe negative. */
class BigLiteral {
  constructor(readonly literal: string) {}
}

const bigLiteral = fc
  .tuple(fc.boolean(), fc.integer({ min: 1, max: 9 }), fc.stringMatching(/^[0-9]{15,39}$/))
  .map(([negative, lead, rest]) => new BigLiteral(`${negative ? '-' : ''}${lead}${rest}`));

/** Strings that look like trouble for a scanner: digit runs, escaped quotes and backslashes before digits. */
const trickyString = fc.oneof(
  fc.string(),
  fc.stringMatching(/^[0-9]{16,25}$/),
  fc.constantFrom('a"7600000000000000123', '\\', '\\"7600000000000000123', '}:7600000000000000123,', '\u2028-7600000000000000123'),
);

type Tree = unknown;

/** JSON-like trees whose leaves may be big literals, with keys and strings that contain digits. */
const { tree } = fc.letrec<{ tree: Tree; leaf: Tree }>((tie) => ({
  leaf: fc.oneof(
    { arbitrary: bigLiteral, weight: 3 },
    { arbitrary: trickyString, weight: 2 },
    { arbitrary: fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null)), weight: 2 },
  ),
  tree: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    tie('leaf'),
    fc.array(tie('tree'), { maxLength: 5 }),
    fc.dictionary(trickyString, tie('tree'), { maxKeys: 5 }),
  ),
}));

const whitespace = fc.constantFrom('', ' ', '\n', '\t ', '\r\n  ');

/** Serialises a tree, writing big literals bare (`asStrings` false) or as JSON strings (`asStrings` true). */
function serialise(value: Tree, asStrings: boolean, pad: string): string {
  if (value instanceof BigLiteral) return asStrings ? JSON.stringify(value.literal) : value.literal;
  if (Array.isArray(value)) return `[${pad}${value.map((v) => serialise(v, asStrings, pad)).join(`,${pad}`)}${pad}]`;
  if (typeof value === 'object' && value !== null) {
    const members = Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}${pad}:${pad}${serialise(v, asStrings, pad)}`);
    return `{${pad}${members.join(`,${pad}`)}${pad}}`;
  }
  return JSON.stringify(value);
}

/**
 * The reference result for text written by JSON.stringify: JSON.parse, with every number whose literal is an
 * integer of 16+ digits replaced by that literal (JSON.stringify writes the same shortest form back).
 */
function expectedFor(text: string): unknown {
  return JSON.parse(text, (_key, value: unknown) =>
    typeof value === 'number' && /^-?\d{16,}$/.test(JSON.stringify(value)) ? JSON.stringify(value) : value,
  );
}

describe('parseJsonLosslessly', () => {
  it('keeps the 19-digit ids of a comment.update exact, as strings', () => {
    const content = '{"comment_id":7600000000000000123,"video_id":7600000000000000456,"parent_comment_id":0,"timestamp":1772443000000}';
    expect(parseJsonLosslessly(content)).toEqual({
      comment_id: '7600000000000000123',
      video_id: '7600000000000000456',
      parent_comment_id: 0,
      timestamp: 1772443000000,
    });
    // What JSON.parse would have done: another id.
    expect(String((JSON.parse(content) as { comment_id: number }).comment_id)).not.toBe('7600000000000000123');
  });

  it('quotes negative big integers with their sign', () => {
    expect(parseJsonLosslessly('[-7600000000000000123, -1]')).toEqual(['-7600000000000000123', -1]);
  });

  it('starts quoting at 16 digits and leaves 15-digit integers as numbers', () => {
    expect(parseJsonLosslessly('[123456789012345, 1234567890123456]')).toEqual([123456789012345, '1234567890123456']);
  });

  it('leaves numbers with a fraction or an exponent as numbers', () => {
    expect(parseJsonLosslessly('[7600000000000000123.5, 7600000000000000123e2, 1.5E+30]')).toEqual([7600000000000000123.5, 7600000000000000123e2, 1.5e30]);
  });

  it('never touches digits inside strings, escaped quotes included', () => {
    const text = String.raw`{"a":"7600000000000000123","b":"x\"7600000000000000123","c\\":7600000000000000123}`;
    expect(parseJsonLosslessly(text)).toEqual({ a: '7600000000000000123', b: 'x"7600000000000000123', 'c\\': '7600000000000000123' });
  });

  it('returns exactly what JSON.parse returns for JSON without big integers', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = JSON.stringify(value);
        expect(parseJsonLosslessly(text)).toEqual(expectedFor(text));
      }),
      { numRuns: 500 },
    );
  });

  it('round-trips big integers embedded anywhere as their exact decimal strings, and everything else as JSON.parse does', () => {
    fc.assert(
      fc.property(tree, whitespace, (value, pad) => {
        const text = serialise(value, false, pad);
        // Other number leaves are written by JSON.stringify, so big-looking doubles (1e20) are quoted too.
        expect(parseJsonLosslessly(text)).toEqual(expectedFor(serialise(value, true, pad)));
      }),
      { numRuns: 1000 },
    );
  });

  it('throws a SyntaxError exactly when JSON.parse does', () => {
    const texts = fc.oneof(
      fc.string(),
      fc.constantFrom(
        '{7600000000000000123:1}',
        '{"a":1,7600000000000000123:2}',
        '00007600000000000000123',
        '[01234567890123456789]',
        '[7600000000000000123',
        '"7600000000000000123',
        '7600000000000000123.',
        '-',
      ),
      // Valid JSON with one character removed or inserted somewhere.
      fc
        .tuple(tree, fc.nat(), fc.constantFrom('', '"', ':', ',', '0', '-', '{', '}', '\\'))
        .map(([value, at, insert]) => {
          const text = serialise(value, false, '');
          const i = at % (text.length + 1);
          return text.slice(0, i) + insert + text.slice(i + (insert === '' ? 1 : 0));
        }),
    );
    fc.assert(
      fc.property(texts, (text) => {
        let expected: unknown;
        try {
          JSON.parse(text);
          expected = 'parses';
        } catch (error) {
          expected = (error as Error).name;
        }
        let actual: unknown;
        try {
          parseJsonLosslessly(text);
          actual = 'parses';
        } catch (error) {
          actual = (error as Error).name;
        }
        expect(actual).toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });
});
