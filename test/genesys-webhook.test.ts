import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { OutboundMessageCommand } from '../src/core/commands.js';
import { parseGenesysOutbound, type GenesysOutboundParse } from '../src/genesys/webhook/parse.js';
import { signGenesysBody, verifyGenesysSignature } from '../src/genesys/webhook/verify.js';
import { mutatedDocument } from './json-mutation.js';

const FIXTURES = new URL('./fixtures/genesys/', import.meta.url);
const FIXTURE_NAMES = readdirSync(FIXTURES).filter((f) => f.endsWith('.json')).sort();
const INTEGRATION = '0a1b2c3d-1111-4222-8333-944455566677';
const CUSTOMER = '9900112233445566';
const SECRET = 'genesys-webhook-secret-0123456789';

function rawFixture(name: string): Buffer {
  return readFileSync(new URL(name, FIXTURES));
}

function fixture(name: string): any {
  return JSON.parse(rawFixture(name).toString('utf8'));
}

/** The fixture's ids and time, as every command built from it must carry them. */
function envelopeOf(body: any) {
  return {
    genesysMessageId: body.id,
    integrationId: INTEGRATION,
    customerId: CUSTOMER,
    timestamp: Date.parse(body.channel.time),
  };
}

function messageCommand(result: GenesysOutboundParse): OutboundMessageCommand {
  expect(result.kind).toBe('command');
  const command = (result as Extract<GenesysOutboundParse, { kind: 'command' }>).command;
  expect(command.kind).toBe('message');
  return command as OutboundMessageCommand;
}

function parseFixture(name: string, change?: (body: any) => void): GenesysOutboundParse {
  const body = fixture(name);
  change?.(body);
  return parseGenesysOutbound(body);
}

describe('parseGenesysOutbound: agent text and attachments', () => {
  it('turns an agent text into a message command with the ids every receipt needs', () => {
    expect(parseFixture('agent-text.json')).toEqual({
      kind: 'command',
      command: {
        kind: 'message',
        ...envelopeOf(fixture('agent-text.json')),
        timestamp: Date.UTC(2026, 2, 2, 9, 18),
        originatingEntity: 'Human',
        text: 'Your parcel ships today.',
        attachments: [],
      },
    });
  });

  it('keeps emoji, ZWJ sequences and non-Latin scripts exactly as the agent typed them', () => {
    expect(messageCommand(parseFixture('agent-text-unicode.json')).text).toBe(fixture('agent-text-unicode.json').text);
  });

  it('passes a ~3000-character text through whole: splitting is the sender’s job', () => {
    const { text } = messageCommand(parseFixture('long-text.json'));
    expect(text).toBe(fixture('long-text.json').text);
    expect(text!.length).toBeGreaterThan(2900);
  });

  it.each([
    ['attachment-image.json', 'Image', 'image/png', 'label.png', 48211],
    ['attachment-video.json', 'Video', 'video/mp4', 'unboxing.mp4', 5242880],
    ['attachment-audio.json', 'Audio', 'audio/mpeg', 'voice-note.mp3', 182044],
    ['attachment-file.json', 'File', 'application/pdf', 'invoice-ORD-1187.pdf', 10240],
  ])('%s becomes one %s attachment with its mime, filename and size', (name, mediaType, mime, filename, size) => {
    const command = messageCommand(parseFixture(name));
    expect(command).toEqual({
      kind: 'message',
      ...envelopeOf(fixture(name)),
      originatingEntity: 'Human',
      attachments: [{ mediaType, url: fixture(name).content[0].attachment.url, mime, filename, size }],
    });
  });

  it('sends a Link attachment as its URL appended to the text, not as a file', () => {
    const command = messageCommand(parseFixture('attachment-link.json'));
    expect(command.text).toBe('You can track it here:\nhttps://track.example.com/ORD-20260302-1187');
    expect(command.attachments).toEqual([]);
  });

  it('keeps both the text and the attachment of a message that has both', () => {
    const command = messageCommand(parseFixture('text-and-attachment.json'));
    expect(command.text).toBe('Here is your return label, print it and stick it on the box.');
    expect(command.attachments).toEqual([
      expect.objectContaining({ mediaType: 'Image', mime: 'image/jpeg', filename: 'return-label.jpg' }),
    ]);
  });

  it('marks a bot message as Bot, so it is never sent under the HUMAN_AGENT tag', () => {
    expect(messageCommand(parseFixture('bot-text.json')).originatingEntity).toBe('Bot');
  });

  it.each([undefined, 'Agent', 'human', 42])('reads originatingEntity %j as Unknown', (value) => {
    const command = messageCommand(parseFixture('agent-text.json', (b) => (b.originatingEntity = value)));
    expect(command.originatingEntity).toBe('Unknown');
  });

  it('reads a message without a type as Text (the published schema requires nothing)', () => {
    expect(messageCommand(parseFixture('agent-text.json', (b) => delete b.type)).text).toBe('Your parcel ships today.');
  });

  it('reads a content item without contentType by the payload it carries', () => {
    const command = messageCommand(parseFixture('attachment-image.json', (b) => delete b.content[0].contentType));
    expect(command.attachments).toHaveLength(1);
  });

  it('ignores unknown fields anywhere', () => {
    const command = messageCommand(
      parseFixture('text-and-attachment.json', (b) => {
        b.messageMetadata = { type: 'Text' };
        b.channel.extra = true;
        b.content[0].attachment.sha256 = 'abc';
      }),
    );
    expect(command.attachments).toHaveLength(1);
  });
});

describe('parseGenesysOutbound: limits', () => {
  it('refuses an agent text far over Genesys\'s own 4000-character limit as unsupported, before any splitting', () => {
    const body = fixture('agent-text.json');
    body.text = 'x'.repeat(20_001);
    const parsed = parseGenesysOutbound(body);
    expect(parsed.kind).toBe('unsupported');
    expect(parsed.kind === 'unsupported' && parsed.detail).toMatch(/longer than 20000 characters/);
    body.text = 'x'.repeat(20_000);
    expect(parseGenesysOutbound(body).kind).toBe('command');
  });
});

describe('parseGenesysOutbound: structured content', () => {
  it('turns quick replies into options and a numbered fallback text', () => {
    const command = messageCommand(parseFixture('quick-replies.json'));
    expect(command).toMatchObject({
      originatingEntity: 'Bot',
      text: 'Track another order?',
      quickReplies: [
        { text: 'Yes', payload: 'YES' },
        { text: 'No', payload: 'NO' },
      ],
      fallbackText: 'Track another order?\n1. Yes\n2. No',
    });
    expect(command.cards).toBeUndefined();
  });

  it('uses the text as payload of a quick reply that has none', () => {
    const command = messageCommand(parseFixture('quick-replies.json', (b) => delete b.content[0].quickReply.payload));
    expect(command.quickReplies?.[0]).toEqual({ text: 'Yes', payload: 'Yes' });
  });

  it('turns a card into title, description, image and link/postback buttons, with a readable fallback', () => {
    const command = messageCommand(parseFixture('card.json'));
    expect(command.text).toBeUndefined();
    expect(command.cards).toEqual([
      {
        title: 'Order ORD-20260302-1187',
        description: 'Shipped, arriving Thursday',
        imageUrl: 'https://cdn.example.com/orders/1187.png',
        actions: [
          { text: 'Track parcel', url: 'https://track.example.com/ORD-20260302-1187' },
          { text: 'Talk to an agent', payload: 'AGENT' },
        ],
      },
    ]);
    expect(command.fallbackText).toBe(
      'Order ORD-20260302-1187 – Shipped, arriving Thursday\n' +
        'Track parcel: https://track.example.com/ORD-20260302-1187\n' +
        'Talk to an agent',
    );
  });

  it('turns a carousel into its cards and a numbered fallback after the prompt', () => {
    const command = messageCommand(parseFixture('carousel.json'));
    expect(command.text).toBe('Our bestsellers this week');
    expect(command.cards?.map((c) => c.title)).toEqual(['Trail Runner 2', 'City Walker']);
    expect(command.fallbackText).toBe(
      [
        'Our bestsellers this week',
        '1. Trail Runner 2 – Lightweight trail shoe',
        '   View: https://shop.example.com/p/trail-runner-2',
        '   More like this',
        '2. City Walker – Everyday leather sneaker',
        '   View: https://shop.example.com/p/city-walker',
      ].join('\n'),
    );
  });

  it('accepts a card with an empty title when it has a description', () => {
    const command = messageCommand(parseFixture('card.json', (b) => (b.content[0].card.title = '')));
    expect(command.cards?.[0]).toMatchObject({ title: '', description: 'Shipped, arriving Thursday' });
  });

  it('turns a date picker into a numbered list of ISO times with durations', () => {
    const command = messageCommand(parseFixture('date-picker.json'));
    const expected = [
      'When can we call you?',
      'Pick a time',
      '1. 2026-03-03T10:00:00.000Z (30 min)',
      '2. 2026-03-03T14:30:00.000Z (15 min)',
    ].join('\n');
    expect(command).toMatchObject({ text: expected, fallbackText: expected, attachments: [] });
  });

  it('renders a notification template with named and positional parameters', () => {
    const command = messageCommand(parseFixture('notification-template.json'));
    const expected = 'Order update\nHi Jane, your order ORD-20260302-1187 ships on Thursday.\nAcme Support';
    expect(command).toMatchObject({ text: expected, fallbackText: expected });
  });

  it('leaves a template placeholder without a parameter visible rather than blank', () => {
    const command = messageCommand(parseFixture('notification-template.json', (b) => b.content[0].template.body.parameters.pop()));
    expect(command.text).toContain('ships on {{3}}.');
  });

  it('does not repeat a template body that Genesys also put in text, and keeps it under its header', () => {
    const command = messageCommand(
      parseFixture('notification-template.json', (b) => (b.text = 'Hi Jane, your order ORD-20260302-1187 ships on Thursday.')),
    );
    expect(command.text).toBe('Order update\nHi Jane, your order ORD-20260302-1187 ships on Thursday.\nAcme Support');
  });

  it('renders any template header, body, footer in that order, once each, whether or not text repeats the body', () => {
    // Lines without placeholders, line breaks or surrounding blanks, all different: their order is what is checked.
    const line = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9 ,.!?]{0,38}[A-Za-z0-9.!?]$/);
    fc.assert(
      fc.property(fc.uniqueArray(line, { minLength: 3, maxLength: 3 }), fc.boolean(), ([header, body, footer], bodyInText) => {
        const command = messageCommand(
          parseFixture('notification-template.json', (b) => {
            b.content[0].template = { header: { type: 'Text', text: header }, body: { text: body, parameters: [] }, footer: { text: footer } };
            if (bodyInText) b.text = body;
          }),
        );
        expect(command.text).toBe(`${header}\n${body}\n${footer}`);
      }),
    );
  });
});

describe('parseGenesysOutbound: events, receipts and what is not for the customer', () => {
  it('turns Typing On into a typing command', () => {
    expect(parseFixture('typing.json')).toEqual({
      kind: 'command',
      command: { kind: 'typing', ...envelopeOf(fixture('typing.json')) },
    });
  });

  it.each([
    ['another event type', (b: any) => (b.events = [{ eventType: 'Presence' }])],
    ['Typing Off', (b: any) => (b.events[0].typing.type = 'Off')],
    ['no events', (b: any) => delete b.events],
  ])('ignores an Event with %s', (_, change) => {
    expect(parseFixture('typing.json', change)).toEqual({
      kind: 'ignore',
      reason: 'event_other',
      genesysMessageId: fixture('typing.json').id,
    });
  });

  it('ignores a Receipt webhook: it is logged, never re-sent', () => {
    expect(parseFixture('receipt.json')).toEqual({ kind: 'ignore', reason: 'receipt', genesysMessageId: fixture('receipt.json').id });
  });

  it("ignores the customer's own message coming back with direction Inbound", () => {
    expect(parseFixture('inbound-direction.json')).toMatchObject({ kind: 'ignore', reason: 'inbound_echo' });
  });

  it('reports an unknown type as unsupported, with the ids for the Failed receipt', () => {
    expect(parseFixture('unknown-type.json')).toEqual({
      kind: 'unsupported',
      genesysMessageId: fixture('unknown-type.json').id,
      integrationId: INTEGRATION,
      customerId: CUSTOMER,
      detail: 'Genesys message type "Video" is not supported',
    });
  });

  it('reports a message with neither text, attachment nor structured content as unsupported', () => {
    expect(parseFixture('no-content.json')).toMatchObject({
      kind: 'unsupported',
      genesysMessageId: fixture('no-content.json').id,
      detail: 'the message has no text, attachment or structured content',
    });
    expect(parseFixture('agent-text.json', (b) => (b.text = '  \n'))).toMatchObject({ kind: 'unsupported' });
  });

  it('reports the whole message as unsupported when one content item is not understood, rather than drop it silently', () => {
    const result = parseFixture('text-and-attachment.json', (b) => b.content.push({ contentType: 'ListPicker', listPicker: {} }));
    expect(result).toMatchObject({ kind: 'unsupported', detail: 'content[1]: content type "ListPicker" is not supported' });
  });

  it.each([
    ['an attachment without url', (b: any) => delete b.content[0].attachment.url, 'attachment-image.json'],
    ['an attachment with mediaType Sticker', (b: any) => (b.content[0].attachment.mediaType = 'Sticker'), 'attachment-image.json'],
    ['a card button with neither URL nor payload', (b: any) => delete b.content[0].card.actions[1].payload, 'card.json'],
    ['a card with neither title nor description', (b: any) => (b.content[0].card = { actions: [] }), 'card.json'],
    ['a date picker without times', (b: any) => (b.content[0].datePicker.availableTimes = []), 'date-picker.json'],
    ['a template without body', (b: any) => delete b.content[0].template.body, 'notification-template.json'],
  ])('reports %s as unsupported', (_, change, name) => {
    expect(parseFixture(name, change)).toMatchObject({ kind: 'unsupported', detail: expect.stringMatching(/^content\[0\]: malformed /) });
  });

  it.each([
    ['id', (b: any) => delete b.id, 'missing id'],
    ['channel.to.id', (b: any) => delete b.channel.to.id, 'missing channel.to.id'],
    ['channel.id', (b: any) => delete b.channel.id, 'missing channel.id'],
  ])('marks a message without %s invalid: there is nobody to report to', (_, change, detail) => {
    expect(parseFixture('agent-text.json', change)).toEqual({ kind: 'invalid', detail });
  });

  it.each(['yesterday', '', null])('marks a message whose channel.time is %j invalid instead of inventing a time', (time) => {
    expect(parseFixture('agent-text.json', (b) => (b.channel.time = time))).toMatchObject({
      kind: 'invalid',
      detail: expect.stringContaining('channel.time'),
    });
  });

  it.each([null, 'text', 42, [], true])('marks a body that is not an object (%j) invalid', (body) => {
    expect(parseGenesysOutbound(body)).toEqual({ kind: 'invalid', detail: 'the body is not a JSON object' });
  });

  it('has an expectation for every fixture', () => {
    const kinds = Object.fromEntries(FIXTURE_NAMES.map((name) => [name, parseFixture(name).kind]));
    const notCommands = Object.entries(kinds).filter(([, kind]) => kind !== 'command').map(([name]) => name);
    expect(notCommands.sort()).toEqual(['inbound-direction.json', 'no-content.json', 'receipt.json', 'unknown-type.json']);
    expect(FIXTURE_NAMES).toHaveLength(20);
  });
});

describe('verifyGenesysSignature', () => {
  const raw = rawFixture('agent-text.json');

  it('accepts the documented padded base64 digest over the raw bytes', () => {
    const header = signGenesysBody(raw, SECRET);
    expect(header).toMatch(/^sha256=[A-Za-z0-9+/]{43}=$/);
    expect(verifyGenesysSignature(raw, header, SECRET)).toEqual({ ok: true, variant: 'base64' });
  });

  it('accepts the observed lower-case hex digest over the raw bytes', () => {
    const header = signGenesysBody(raw, SECRET, 'hex');
    expect(header).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(verifyGenesysSignature(raw, header, SECRET)).toEqual({ ok: true, variant: 'hex' });
  });

  it.each(['base64', 'hex'] as const)(
    'falls back to the %s digest of JSON.stringify(JSON.parse(body)), as Genesys’s sample computes it',
    (encoding) => {
      // The fixture file is pretty-printed: its raw bytes differ from the re-serialised form.
      const reserialized = JSON.stringify(JSON.parse(raw.toString('utf8')));
      expect(reserialized).not.toBe(raw.toString('utf8'));
      const header = signGenesysBody(reserialized, SECRET, encoding);
      expect(verifyGenesysSignature(raw, header, SECRET)).toEqual({ ok: true, variant: `${encoding}-reserialized` });
    },
  );

  it('matches a body with escaped Unicode through the re-serialised fallback', () => {
    const escaped = Buffer.from('{"text":"Zo\\u00eb \\ud83d\\udc4b"}', 'utf8');
    const header = signGenesysBody('{"text":"Zoë 👋"}', SECRET);
    expect(verifyGenesysSignature(escaped, header, SECRET)).toEqual({ ok: true, variant: 'base64-reserialized' });
  });

  it('rejects a signature made with another secret', () => {
    expect(verifyGenesysSignature(raw, signGenesysBody(raw, 'another-secret-0123456789'), SECRET)).toEqual({ ok: false, reason: 'mismatch' });
  });

  it('rejects a body with one flipped byte', () => {
    const header = signGenesysBody(raw, SECRET);
    const flipped = Buffer.from(raw);
    flipped[40] = flipped[40]! ^ 0x01;
    expect(verifyGenesysSignature(flipped, header, SECRET)).toEqual({ ok: false, reason: 'mismatch' });
  });

  it.each([null, undefined, ''])('reports a %j header as missing', (header) => {
    expect(verifyGenesysSignature(raw, header, SECRET)).toEqual({ ok: false, reason: 'missing' });
  });

  it.each([
    ['another algorithm', `sha1=${'a'.repeat(40)}`],
    ['no prefix', signGenesysBody(raw, SECRET).slice('sha256='.length)],
    ['an empty digest', 'sha256='],
    ['unpadded base64', signGenesysBody(raw, SECRET).slice(0, -1)],
    ['base64url', `sha256=${'-_'.repeat(21)}A=`],
    ['upper-case hex', signGenesysBody(raw, SECRET, 'hex').toUpperCase().replace('SHA256=', 'sha256=')],
    ['trailing text', `${signGenesysBody(raw, SECRET)} `],
  ])('reports a header with %s as malformed', (_, header) => {
    expect(verifyGenesysSignature(raw, header, SECRET)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('refuses to verify or sign with an empty secret (fail closed)', () => {
    expect(() => verifyGenesysSignature(raw, signGenesysBody(raw, SECRET), '')).toThrow(/fail closed/);
    expect(() => signGenesysBody(raw, '')).toThrow(/fail closed/);
  });
});

describe('verifyGenesysSignature: properties', () => {
  const anyBody = fc.oneof(
    fc.uint8Array({ minLength: 1, maxLength: 512 }),
    fc.json().map((json) => new Uint8Array(Buffer.from(json, 'utf8'))),
  );
  const anySecret = fc.string({ minLength: 1, maxLength: 64 });
  const encodings = ['base64', 'hex'] as const;

  it('accepts any body signed with its secret, in both encodings', () => {
    fc.assert(
      fc.property(anyBody, anySecret, fc.constantFrom(...encodings), (body, secret, encoding) => {
        expect(verifyGenesysSignature(body, signGenesysBody(body, secret, encoding), secret)).toEqual({ ok: true, variant: encoding });
      }),
      { numRuns: 300 },
    );
  });

  it('rejects any single-byte change to the body, unless the change leaves the same JSON document', () => {
    fc.assert(
      fc.property(anyBody, fc.nat(), fc.integer({ min: 1, max: 255 }), fc.constantFrom(...encodings), (body, at, xor, encoding) => {
        const header = signGenesysBody(body, SECRET, encoding);
        const changed = Uint8Array.from(body);
        changed[at % changed.length]! ^= xor;
        const result = verifyGenesysSignature(changed, header, SECRET);
        // e.g. "\u001f" → "\u001F" re-serialises to the signed bytes; it still took the secret to sign them.
        if (result.ok) expect(result.variant).toBe(`${encoding}-reserialized`);
        else expect(result).toEqual({ ok: false, reason: 'mismatch' });
      }),
      { numRuns: 500 },
    );
  });

  it('rejects any single-character change to the digest', () => {
    fc.assert(
      fc.property(anyBody, fc.nat(), fc.integer({ min: 0x20, max: 0x7e }), fc.constantFrom(...encodings), (body, at, code, encoding) => {
        const digest = signGenesysBody(body, SECRET, encoding).slice('sha256='.length);
        const i = at % digest.length;
        fc.pre(digest[i] !== String.fromCharCode(code));
        const header = `sha256=${digest.slice(0, i)}${String.fromCharCode(code)}${digest.slice(i + 1)}`;
        expect(verifyGenesysSignature(body, header, SECRET).ok).toBe(false);
      }),
      { numRuns: 500 },
    );
  });
});

describe('parseGenesysOutbound: properties', () => {
  /** What every result must look like, whatever came in. */
  function expectWellFormed(result: GenesysOutboundParse): void {
    expect(['command', 'ignore', 'unsupported', 'invalid']).toContain(result.kind);
    if (result.kind === 'unsupported') {
      expect(result.genesysMessageId && result.customerId && result.integrationId && result.detail).toBeTruthy();
    }
    if (result.kind !== 'command') return;
    const { command } = result;
    expect(command.genesysMessageId && command.customerId && command.integrationId).toBeTruthy();
    expect(Number.isSafeInteger(command.timestamp)).toBe(true);
    if (command.kind !== 'message') return;
    const hasStructure = Boolean(command.quickReplies?.length || command.cards?.length);
    expect(Boolean(command.text) || command.attachments.length > 0 || hasStructure).toBe(true);
    if (hasStructure) expect(command.fallbackText).toBeTruthy();
    expect(() => JSON.stringify(command)).not.toThrow();
  }

  it('never throws on arbitrary JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (body) => expectWellFormed(parseGenesysOutbound(body))),
      { numRuns: 500 },
    );
  });

  it('never throws on arbitrary content items and events inside a valid envelope', () => {
    const base = fixture('agent-text.json');
    fc.assert(
      fc.property(
        fc.constantFrom('Text', 'Structured', 'Event', undefined),
        fc.array(fc.jsonValue(), { maxLength: 4 }),
        fc.array(fc.jsonValue(), { maxLength: 3 }),
        (type, content, events) => {
          expectWellFormed(parseGenesysOutbound({ ...base, type, content, events }));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('never throws on fixtures with one value replaced or removed anywhere', () => {
    const bodies = FIXTURE_NAMES.map((name) => fixture(name));
    fc.assert(
      fc.property(mutatedDocument(bodies), (mutated) => {
        expectWellFormed(parseGenesysOutbound(mutated));
      }),
      { numRuns: 1000 },
    );
  });
});
