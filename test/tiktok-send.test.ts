import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildTikTokSendRequests, buildTikTokTyping, splitTikTokText, type TikTokSendStep } from '../src/channels/tiktok/send.js';
import type { OutboundMessageCommand } from '../src/core/commands.js';
import { PermanentError } from '../src/core/errors.js';

const BUSINESS = '-000aBcD1234';
const CONVERSATION = 'u5Jh+pse/AhoPOlnH0tZ9y==';
const RECIPIENT = { business_id: BUSINESS, recipient_type: 'CONVERSATION', recipient: CONVERSATION } as const;
const graphemesOf = (s: string) => [...new Intl.Segmenter(undefined, { granularity: 'grapheme' }).segment(s)].map((g) => g.segment);

function command(over: Partial<OutboundMessageCommand> = {}): OutboundMessageCommand {
  return {
    kind: 'message',
    genesysMessageId: 'b1c2d3e4f5a60718293a4b5c6d7e8f90',
    integrationId: '0a1b2c3d-1111-4222-8333-944455566677',
    customerId: '+ZMM6I2kQ',
    timestamp: Date.UTC(2026, 2, 2, 9, 0),
    originatingEntity: 'Human',
    attachments: [],
    ...over,
  };
}

const build = (over: Partial<OutboundMessageCommand> = {}) => buildTikTokSendRequests(command(over), { businessId: BUSINESS, conversationId: CONVERSATION });
const texts = (steps: TikTokSendStep[]) => steps.map((s) => (s.kind === 'send' && s.body.message_type === 'TEXT' ? s.body.text.body : undefined));

function thrown(fn: () => unknown): PermanentError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(PermanentError);
    return err as PermanentError;
  }
  throw new Error('expected a PermanentError');
}

describe('splitTikTokText', () => {
  it('keeps a text of at most 6000 characters whole', () => {
    expect(splitTikTokText('a'.repeat(6000))).toEqual(['a'.repeat(6000)]);
    expect(splitTikTokText('')).toEqual([]);
  });

  it('never splits an emoji ZWJ sequence, a flag or a combining sequence, and counts UTF-16 units', () => {
    for (const unit of ['👩‍👩‍👧‍👦', '🇫🇷', 'e\u0301\u0323', '👍🏽']) {
      const text = `x${unit.repeat(Math.ceil(14000 / unit.length))}`;
      const parts = splitTikTokText(text);
      expect(parts.length).toBeGreaterThan(2);
      expect(parts.join('')).toBe(text);
      for (const part of parts) {
        expect(part.length).toBeLessThanOrEqual(6000);
        expect(graphemesOf(part).filter((g) => g !== 'x').every((g) => g === unit), unit).toBe(true);
      }
    }
  });

  it('prefers a sentence end, then a space, in the last 20 % of a part', () => {
    const sentence = 'The parcel left our warehouse this morning and should arrive soon. ';
    const parts = splitTikTokText(sentence.repeat(200));
    expect(parts.slice(0, -1).every((p) => p.endsWith('soon. ') && p.length > 4800)).toBe(true);
    const words = splitTikTokText('lorem ipsum dolor '.repeat(700));
    expect(words.slice(0, -1).every((p) => p.endsWith(' ') && p.length > 4800)).toBe(true);
  });

  it('parts are ≤ 6000 characters, on grapheme boundaries, and join back to exactly the input (property)', () => {
    const piece = fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 60 }),
      fc.constantFrom(' ', '\n', '\n\n', '. ', '👩‍👩‍👧‍👦', '🇫🇷', 'e\u0301', '日本語の文章です。', '\r\n', 'x'.repeat(500)),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 600 }).map((p) => p.join('')), fc.integer({ min: 20, max: 6000 }), (text, max) => {
        const parts = splitTikTokText(text, max);
        expect(parts.join('')).toBe(text);
        const boundaries = new Set([0]);
        let at = 0;
        for (const g of graphemesOf(text)) boundaries.add((at += g.length));
        const graphemesFit = graphemesOf(text).every((g) => g.length <= max);
        let offset = 0;
        for (const part of parts) {
          expect(part).not.toBe('');
          expect(part.length).toBeLessThanOrEqual(max);
          offset += part.length;
          if (graphemesFit) expect(boundaries.has(offset)).toBe(true);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('buildTikTokSendRequests', () => {
  it('sends a text to the conversation (not the user) as one TEXT message', () => {
    expect(build({ text: 'Your parcel ships today.' })).toEqual([
      { kind: 'send', body: { ...RECIPIENT, message_type: 'TEXT', text: { body: 'Your parcel ships today.' } } },
    ]);
  });

  it('splits a long reply into TEXT messages of at most 6000 characters, in order', () => {
    const text = Array.from({ length: 600 }, (_, i) => `Line ${i}: ça coûte 10 € 👍.`).join(' ');
    const parts = texts(build({ text }));
    expect(text.length).toBeGreaterThan(12_000);
    expect(parts.length).toBe(3);
    expect(parts.join('')).toBe(text);
    expect(parts.every((p) => p!.length <= 6000)).toBe(true);
  });

  it('turns up to 3 short quick replies into one QA_BUTTON_CARD titled with the prompt', () => {
    const steps = build({
      text: 'Track another order?',
      quickReplies: [{ text: 'Yes', payload: 'YES' }, { text: 'No', payload: 'NO' }],
      fallbackText: 'Track another order?\n1. Yes\n2. No',
    });
    expect(steps).toEqual([
      {
        kind: 'send',
        body: {
          ...RECIPIENT,
          message_type: 'TEMPLATE',
          template: { type: 'QA_BUTTON_CARD', title: 'Track another order?', buttons: [{ type: 'REPLY', title: 'Yes', id: 'YES' }, { type: 'REPLY', title: 'No', id: 'NO' }] },
        },
      },
    ]);
  });

  it('sends the fallback text when quick replies do not fit the card (4 options, a 21-character title, a 41-character prompt)', () => {
    const fallbackText = 'Pick one:\n1. A\n2. B\n3. C\n4. D';
    const options = (n: number, title = 'Opt') => Array.from({ length: n }, (_, i) => ({ text: `${title}${i}`, payload: `P${i}` }));
    for (const over of [
      { text: 'Pick one:', quickReplies: options(4) },
      { text: 'Pick one:', quickReplies: options(2, 'x'.repeat(20)) },
      { text: 'y'.repeat(41), quickReplies: options(2) },
      { text: 'Pick one:', quickReplies: [{ text: 'Open', url: 'https://example.test' }] },
    ]) {
      expect(texts(build({ ...over, fallbackText }))).toEqual([fallbackText]);
    }
  });

  it('sends cards as the fallback text: TikTok has no carousel', () => {
    const fallbackText = 'Blue shirt — 20 €\nhttps://shop.test/blue';
    const steps = build({ text: 'Our picks', cards: [{ title: 'Blue shirt', description: '20 €', actions: [{ text: 'Buy', url: 'https://shop.test/blue' }] }], fallbackText });
    expect(texts(steps)).toEqual([fallbackText]);
  });

  it('puts links into the text, sends images as upload steps after it, and the card last', () => {
    const steps = build({
      text: 'Is this the one?',
      quickReplies: [{ text: 'Yes', payload: 'Y' }],
      fallbackText: 'Is this the one? Yes',
      attachments: [
        { mediaType: 'Link', url: 'https://shop.test/p/1' },
        { mediaType: 'Image', url: 'https://api.mypurecloud.com/files/a.png', mime: 'image/png', filename: 'a.png' },
      ],
    });
    expect(steps.map((s) => (s.kind === 'image' ? 'image' : s.body.message_type))).toEqual(['TEXT', 'image', 'TEMPLATE']);
    expect(texts(steps)[0]).toBe('https://shop.test/p/1');
    expect(steps[1]).toEqual({ kind: 'image', url: 'https://api.mypurecloud.com/files/a.png', mime: 'image/png', filename: 'a.png' });
  });

  it('refuses video, audio and files with MediaTypeNotAllowed before anything is sent', () => {
    for (const mediaType of ['Video', 'Audio', 'File'] as const) {
      const error = thrown(() => build({ text: 'Here you go', attachments: [{ mediaType, url: 'https://x.test/f', filename: 'f.bin' }] }));
      expect(error.reason).toBe('MediaTypeNotAllowed');
      expect(error.message).toMatch(/^TikTok only accepts JPG or PNG images up to 3 MB in messages/);
      expect(error.message).toContain('nothing was sent');
    }
  });

  it('refuses a GIF or a WebP image, and an image Genesys says is over 3 MB, before anything is sent', () => {
    expect(thrown(() => build({ attachments: [{ mediaType: 'Image', url: 'https://x.test/a', mime: 'image/gif' }] })).reason).toBe('MediaTypeNotAllowed');
    expect(thrown(() => build({ attachments: [{ mediaType: 'Image', url: 'https://x.test/a.webp', filename: 'a.webp' }] })).reason).toBe('MediaTypeNotAllowed');
    expect(thrown(() => build({ attachments: [{ mediaType: 'Image', url: 'https://x.test/a.jpg', mime: 'image/jpeg', size: 3 * 1024 * 1024 + 1 }] })).reason).toBe(
      'InvalidMediaContentLength',
    );
  });

  it('refuses a message with nothing TikTok can show', () => {
    expect(thrown(() => build({ text: '   ' })).reason).toBe('InvalidMessageStructure');
  });
});

describe('buildTikTokTyping', () => {
  it('is a SENDER_ACTION TYPING to the conversation', () => {
    expect(buildTikTokTyping(BUSINESS, CONVERSATION)).toEqual({ ...RECIPIENT, message_type: 'SENDER_ACTION', sender_action: 'TYPING' });
  });
});
