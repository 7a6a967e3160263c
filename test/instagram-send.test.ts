import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildInstagramSendRequests, buildTypingRequest, splitText, type GraphSendBody } from '../src/channels/instagram/send.js';
import type { OutboundMessageCommand } from '../src/core/commands.js';

const CUSTOMER = '9900112233445566';
const bytes = (s: string) => Buffer.byteLength(s, 'utf8');
const graphemesOf = (s: string) => [...new Intl.Segmenter(undefined, { granularity: 'grapheme' }).segment(s)].map((g) => g.segment);

function command(over: Partial<OutboundMessageCommand> = {}): OutboundMessageCommand {
  return {
    kind: 'message',
    genesysMessageId: 'b1c2d3e4f5a60718293a4b5c6d7e8f90',
    integrationId: '0a1b2c3d-1111-4222-8333-944455566677',
    customerId: CUSTOMER,
    timestamp: Date.UTC(2026, 2, 2, 9, 0),
    originatingEntity: 'Human',
    attachments: [],
    ...over,
  };
}

/** Stands in for the bridge's /media link of an agent's attachment (AgentAttachments.link). */
const viaBridge = (url: string) => `https://bridge.example/media/${encodeURIComponent(url)}`;
const build = (over: Partial<OutboundMessageCommand> = {}, tag?: 'HUMAN_AGENT') =>
  buildInstagramSendRequests(command(over), { mediaUrl: viaBridge, ...(tag ? { tag } : {}) });
const messages = (bodies: GraphSendBody[]) => bodies.map((b) => b.message);
const texts = (bodies: GraphSendBody[]) => bodies.map((b) => ('text' in b.message ? b.message.text : undefined));

describe('splitText', () => {
  it('keeps a text of at most 1000 UTF-8 bytes whole', () => {
    expect(splitText('é'.repeat(500))).toEqual(['é'.repeat(500)]);
    expect(splitText('')).toEqual([]);
  });

  it('budgets 1000 UTF-8 bytes, not characters, for multi-byte text', () => {
    const parts = splitText('é'.repeat(700));
    expect(parts.map(bytes)).toEqual([1000, 400]);
    expect(parts.join('')).toBe('é'.repeat(700));
  });

  it('never splits an emoji ZWJ sequence, a flag or a combining sequence', () => {
    for (const unit of ['👩‍👩‍👧‍👦', '🇫🇷', 'e\u0301\u0323', '👍🏽']) {
      const text = `x${unit.repeat(Math.ceil(2500 / bytes(unit)))}`;
      const parts = splitText(text);
      expect(parts.length).toBeGreaterThan(1);
      expect(parts.join('')).toBe(text);
      for (const part of parts) {
        expect(bytes(part)).toBeLessThanOrEqual(1000);
        expect(graphemesOf(part).filter((g) => g !== 'x').every((g) => g === unit), unit).toBe(true);
      }
    }
  });

  it('breaks after a paragraph when one falls in the last 20 % of the part', () => {
    const text = `${'a '.repeat(430)}\n\n${'b '.repeat(400)}`;
    const [first] = splitText(text);
    expect(first).toBe(`${'a '.repeat(430)}\n\n`);
  });

  it('prefers a sentence end to a word break', () => {
    const sentence = 'The parcel left our warehouse this morning and should arrive soon. ';
    const text = sentence.repeat(30);
    const parts = splitText(text);
    expect(parts.slice(0, -1).every((p) => p.endsWith('soon. '))).toBe(true);
    expect(parts.join('')).toBe(text);
  });

  it('breaks after a space when no sentence ends near the limit, keeping the space on the earlier part', () => {
    const text = 'lorem ipsum dolor '.repeat(100);
    const parts = splitText(text);
    expect(parts.slice(0, -1).every((p) => p.endsWith(' ') && bytes(p) > 800)).toBe(true);
    expect(parts.slice(1).every((p) => !p.startsWith(' '))).toBe(true);
  });

  it('cuts at the byte limit when no break falls in the last 20 %', () => {
    const text = `short start ${'x'.repeat(1500)}`;
    expect(splitText(text).map(bytes)).toEqual([1000, 512]);
  });

  it('keeps the parts in order and joins back to exactly the original text (property)', () => {
    const piece = fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 40 }),
      fc.constantFrom(' ', '\n', '\n\n', '. ', '! ', '👩‍👩‍👧‍👦', '🇫🇷', 'e\u0301', '日本語の文章です。', '\r\n'),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 400 }).map((p) => p.join('')), fc.integer({ min: 40, max: 1000 }), (text, maxBytes) => {
        const parts = splitText(text, maxBytes);
        expect(parts.join('')).toBe(text);
        const boundaries = new Set([0]);
        let at = 0;
        for (const g of graphemesOf(text)) boundaries.add((at += g.length));
        const graphemesFit = graphemesOf(text).every((g) => bytes(g) <= maxBytes);
        let offset = 0;
        for (const part of parts) {
          expect(part).not.toBe('');
          expect(bytes(part)).toBeLessThanOrEqual(maxBytes);
          offset += part.length;
          if (graphemesFit) expect(boundaries.has(offset)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('buildInstagramSendRequests', () => {
  it('sends a short text as one RESPONSE message to the customer', () => {
    expect(build({ text: 'Your order shipped.' })).toEqual([
      { recipient: { id: CUSTOMER }, messaging_type: 'RESPONSE', message: { text: 'Your order shipped.' } },
    ]);
  });

  it('splits a long reply into parts of at most 1000 bytes, in order', () => {
    const text = Array.from({ length: 120 }, (_, i) => `Line ${i}: ça coûte 10 €.`).join(' ');
    const parts = texts(build({ text }));
    expect(parts.length).toBeGreaterThan(1);
    expect(parts.join('')).toBe(text);
    expect(parts.every((p) => bytes(p!) <= 1000)).toBe(true);
  });

  it('sends each attachment as its own call after the text, with the Instagram type for its media type, by its bridge link', () => {
    const url = (n: string) => `https://media.dmbridge.example/${n}`;
    const bodies = build({
      text: 'Here are your documents',
      attachments: [
        { mediaType: 'Image', url: url('a.jpg') },
        { mediaType: 'Video', url: url('b.mp4') },
        { mediaType: 'Audio', url: url('c.m4a') },
        { mediaType: 'File', url: url('d.pdf'), filename: 'invoice.pdf' },
      ],
    });
    expect(messages(bodies)).toEqual([
      { text: 'Here are your documents' },
      { attachment: { type: 'image', payload: { url: viaBridge(url('a.jpg')) } } },
      { attachment: { type: 'video', payload: { url: viaBridge(url('b.mp4')) } } },
      { attachment: { type: 'audio', payload: { url: viaBridge(url('c.m4a')) } } },
      { attachment: { type: 'file', payload: { url: viaBridge(url('d.pdf')) } } },
    ]);
  });

  it('sends Link media as text, not as attachments', () => {
    const bodies = build({ text: 'Track it here:', attachments: [{ mediaType: 'Link', url: 'https://track.example/123' }] });
    expect(messages(bodies)).toEqual([{ text: 'Track it here:\n\nhttps://track.example/123' }]);
    expect(messages(build({ attachments: [{ mediaType: 'Link', url: 'https://track.example/1' }] }))).toEqual([
      { text: 'https://track.example/1' },
    ]);
  });

  it('sends quick replies that fit as Instagram quick replies on the last text part, after any attachment', () => {
    const bodies = build({
      text: 'Which order?',
      quickReplies: [{ text: 'Order 1001', payload: 'O1001' }, { text: 'Another order' }],
      fallbackText: 'Which order?\n- Order 1001\n- Another order',
      attachments: [{ mediaType: 'Image', url: 'https://media.dmbridge.example/a.jpg' }],
    });
    expect(messages(bodies)).toEqual([
      { attachment: { type: 'image', payload: { url: viaBridge('https://media.dmbridge.example/a.jpg') } } },
      {
        text: 'Which order?',
        quick_replies: [
          { content_type: 'text', title: 'Order 1001', payload: 'O1001' },
          { content_type: 'text', title: 'Another order', payload: 'Another order' },
        ],
      },
    ]);
  });

  it('puts quick replies only on the last part of a long prompt', () => {
    const bodies = build({ text: 'word '.repeat(300), quickReplies: [{ text: 'Yes', payload: 'Y' }], fallbackText: 'x' });
    expect(bodies.length).toBe(2);
    expect(bodies[0]!.message).not.toHaveProperty('quick_replies');
    expect(bodies[1]!.message).toHaveProperty('quick_replies');
  });

  it('sends the fallback text when quick replies do not fit Instagram (14 options, a 21-character title, a link, no prompt)', () => {
    const fallbackText = 'Pick one: A, B, C';
    const option = (text: string) => ({ text, payload: text });
    for (const over of [
      { text: 'Pick one', quickReplies: Array.from({ length: 14 }, (_, i) => option(`Option ${i}`)) },
      { text: 'Pick one', quickReplies: [option('x'.repeat(21))] },
      { text: 'Pick one', quickReplies: [{ text: 'Website', url: 'https://shop.example' }] },
      { quickReplies: [option('A')] },
    ]) {
      expect(messages(build({ ...over, fallbackText }))).toEqual([{ text: fallbackText }]);
    }
    expect(messages(build({ text: 'Pick', quickReplies: Array(13).fill(option('x'.repeat(20))), fallbackText }))[0]).toHaveProperty(
      'quick_replies',
    );
  });

  it('sends cards that fit as one generic template after the text', () => {
    const bodies = build({
      text: 'Our mugs',
      cards: [
        {
          title: 'Blue mug',
          description: '12 EUR',
          imageUrl: 'https://shop.example/blue.jpg',
          actions: [{ text: 'View', url: 'https://shop.example/blue' }, { text: 'Buy', payload: 'BUY_BLUE' }],
        },
        { title: 'Red mug', actions: [] },
      ],
      fallbackText: 'Our mugs: Blue mug (12 EUR), Red mug',
    });
    expect(messages(bodies)).toEqual([
      { text: 'Our mugs' },
      {
        attachment: {
          type: 'template',
          payload: {
            template_type: 'generic',
            elements: [
              {
                title: 'Blue mug',
                subtitle: '12 EUR',
                image_url: 'https://shop.example/blue.jpg',
                buttons: [
                  { type: 'web_url', title: 'View', url: 'https://shop.example/blue' },
                  { type: 'postback', title: 'Buy', payload: 'BUY_BLUE' },
                ],
              },
              { title: 'Red mug' },
            ],
          },
        },
      },
    ]);
  });

  it('sends the fallback text when cards do not fit Instagram (11 cards, an 81-character title or subtitle, 4 buttons, a button with neither link nor payload)', () => {
    const fallbackText = 'Our mugs: …';
    const card = (over: object = {}) => ({ title: 'Mug', actions: [{ text: 'Buy', payload: 'B' }], ...over });
    for (const cards of [
      Array.from({ length: 11 }, () => card()),
      [card({ title: 'm'.repeat(81) })],
      [card({ description: 'd'.repeat(81) })],
      [card({ actions: Array(4).fill({ text: 'Buy', payload: 'B' }) })],
      [card({ actions: [{ text: 'Nothing' }] })],
    ]) {
      expect(messages(build({ text: 'Our mugs', cards, fallbackText }))).toEqual([{ text: fallbackText }]);
    }
    expect(messages(build({ cards: Array.from({ length: 10 }, () => card({ title: 'm'.repeat(80) })), fallbackText }))[0]).toHaveProperty(
      'attachment.type',
      'template',
    );
  });

  it('puts the HUMAN_AGENT tag on every part when tagged, and RESPONSE otherwise', () => {
    const over = { text: 'ok '.repeat(500), attachments: [{ mediaType: 'Image' as const, url: 'https://media.dmbridge.example/a.jpg' }] };
    const tagged = build(over, 'HUMAN_AGENT');
    expect(tagged.length).toBe(3);
    for (const body of tagged) expect(body).toMatchObject({ messaging_type: 'MESSAGE_TAG', tag: 'HUMAN_AGENT', recipient: { id: CUSTOMER } });
    for (const body of build(over)) {
      expect(body.messaging_type).toBe('RESPONSE');
      expect(body).not.toHaveProperty('tag');
    }
  });

  it('refuses a message with nothing Instagram can show', () => {
    for (const over of [{}, { text: '  ' }]) {
      expect(() => build(over)).toThrow(expect.objectContaining({ name: 'PermanentError', reason: 'InvalidMessageStructure' }));
    }
  });
});

describe('buildTypingRequest', () => {
  it('is the typing_on sender action with nothing else in the body', () => {
    expect(buildTypingRequest(CUSTOMER)).toEqual({ recipient: { id: CUSTOMER }, sender_action: 'typing_on' });
  });
});
