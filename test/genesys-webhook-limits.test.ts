/**
 * What an agent message may be at most (src/genesys/webhook/limits.ts), and what an unsigned request may cost:
 * a signed notification that would block the bridge or flood the customer ends `unsupported`, with a sentence
 * for the agent's Failed receipt, within the event-loop budget; a body without a valid signature costs about
 * one HMAC of its bytes.
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseGenesysOutbound, type GenesysOutboundParse } from '../src/genesys/webhook/parse.js';
import { FALLBACK_MAX_BYTES, FALLBACK_MAX_DEPTH, signGenesysBody, verifyGenesysSignature } from '../src/genesys/webhook/verify.js';
import { EVENT_LOOP_BUDGET_MS, eventLoopBlockingMs } from './event-loop.js';

const SECRET = 'genesys-webhook-secret-0123456789';

function fixture(name: string): any {
  return JSON.parse(readFileSync(new URL(`./fixtures/genesys/${name}`, import.meta.url), 'utf8'));
}

/** An agent notification from the fixtures with this text and content. */
function notification(over: { text?: string; content?: unknown[]; type?: string }): any {
  const body = fixture('agent-text.json');
  delete body.text;
  return { ...body, ...over };
}

const image = (i: number) => ({ contentType: 'Attachment', attachment: { mediaType: 'Image', url: `https://api-downloads.mypurecloud.ie/p/${i}.png`, mime: 'image/png' } });
const quickReply = (i: number) => ({ contentType: 'QuickReply', quickReply: { text: `Option ${i}`, payload: `OPT_${i}` } });

/** Parses as the intake does, from the bytes Genesys would send. */
function parseRaw(raw: string): GenesysOutboundParse {
  return parseGenesysOutbound(JSON.parse(raw));
}

function detailOf(result: GenesysOutboundParse): string {
  expect(result.kind).toBe('unsupported');
  return result.kind === 'unsupported' ? result.detail : '';
}

const hostile: Record<string, { body: unknown; detail: RegExp }> = {
  'a 150 KB link URL': {
    body: notification({ text: 'Here is your link', content: [{ contentType: 'Attachment', attachment: { mediaType: 'Link', url: `https://example.com/${'a'.repeat(150_000)}` } }] }),
    detail: /longer than 20000 characters with its links, templates and options written out/,
  },
  '300 image attachments': {
    body: notification({ content: Array.from({ length: 300 }, (_, i) => image(i)) }),
    detail: /has 300 content items \(attachments, quick replies, cards\); at most 64 are read/,
  },
  'a 40,000-character template': {
    body: notification({
      type: 'Structured',
      content: [{ contentType: 'Notification', template: { body: { text: `Hi {{1}}, ${'your order ships soon. '.repeat(1900)}`, parameters: [{ text: 'Jane' }] } } }],
    }),
    detail: /longer than 20000 characters/,
  },
  '400 quick replies': {
    body: notification({ type: 'Structured', text: 'Pick one', content: Array.from({ length: 400 }, (_, i) => quickReply(i)) }),
    detail: /has 400 content items/,
  },
  'a date picker with 400 times': {
    body: notification({
      type: 'Structured',
      content: [{ contentType: 'DatePicker', datePicker: { title: 'When?', availableTimes: Array.from({ length: 400 }, (_, i) => ({ dateTime: new Date(Date.UTC(2026, 3, 1) + i * 900_000).toISOString(), duration: 900 })) } }],
    }),
    detail: /offers 400 or more choices \(quick replies, buttons, times\); at most 30 can be shown/,
  },
  'a carousel of 1,000 cards': {
    body: notification({ type: 'Structured', content: [{ contentType: 'Carousel', carousel: { cards: Array.from({ length: 1000 }, (_, i) => ({ title: `Mug ${i}`, actions: [] })) } }] }),
    detail: /a carousel of 1000 cards; at most 64 are read/,
  },
  'a text that would be 40 Instagram messages': {
    body: notification({ text: 'é'.repeat(19_999) }),
    detail: /would be 40 messages of 1000 bytes; at most 20 are sent/,
  },
};

describe('parseGenesysOutbound: caps on what is rendered, sent and read', () => {
  beforeAll(() => parseRaw(JSON.stringify(hostile['400 quick replies']!.body))); // compiled before anything is measured

  for (const [name, { body, detail }] of Object.entries(hostile)) {
    it(`refuses ${name} as unsupported, with why, within ${EVENT_LOOP_BUDGET_MS} ms of event-loop time`, async () => {
      const raw = JSON.stringify(body);
      let result: GenesysOutboundParse | undefined;
      const blocked = await eventLoopBlockingMs(() => (result = parseRaw(raw)));
      expect(detailOf(result!)).toMatch(detail);
      expect(result).toMatchObject({ genesysMessageId: body && (body as { id: string }).id, customerId: '9900112233445566' });
      expect(blocked).toBeLessThanOrEqual(EVENT_LOOP_BUDGET_MS);
    });
  }

  it('refuses the 11th attachment and the 31st choice, each with its own sentence', () => {
    expect(detailOf(parseGenesysOutbound(notification({ content: Array.from({ length: 11 }, (_, i) => image(i)) })))).toBe(
      'the message has more than 10 attachments, and each would be a message of its own',
    );
    const options = notification({ type: 'Structured', text: 'Pick one', content: Array.from({ length: 31 }, (_, i) => quickReply(i)) });
    expect(detailOf(parseGenesysOutbound(options))).toMatch(/offers 31 or more choices/);
    const card = { contentType: 'Card', card: { title: 'Mug', actions: Array.from({ length: 31 }, (_, i) => ({ type: 'Postback', text: `Buy ${i}`, payload: `B${i}` })) } };
    expect(detailOf(parseGenesysOutbound(notification({ type: 'Structured', content: [card] })))).toMatch(/offers 31 or more choices/);
  });

  it('still sends what fits: 10 attachments, 30 quick replies, 20,000 characters in 20 parts', () => {
    const ten = parseGenesysOutbound(notification({ content: Array.from({ length: 10 }, (_, i) => image(i)) }));
    expect(ten.kind === 'command' && ten.command.kind === 'message' && ten.command.attachments).toHaveLength(10);
    const thirty = parseGenesysOutbound(notification({ type: 'Structured', text: 'Pick one', content: Array.from({ length: 30 }, (_, i) => quickReply(i)) }));
    expect(thirty.kind === 'command' && thirty.command.kind === 'message' && thirty.command.quickReplies).toHaveLength(30);
    expect(parseGenesysOutbound(notification({ text: 'x'.repeat(20_000) })).kind).toBe('command');
  });

  it('counts the written-out options against the length, not only the text', () => {
    const longOptions = Array.from({ length: 30 }, (_, i) => ({ contentType: 'QuickReply', quickReply: { text: `${i} ${'option '.repeat(100)}`, payload: `O${i}` } }));
    const parsed = parseGenesysOutbound(notification({ type: 'Structured', text: 'Pick one', content: longOptions }));
    expect(detailOf(parsed)).toMatch(/longer than 20000 characters/);
  });
});

/** CPU milliseconds (user + system) that `run` took, per call, over `times` calls. */
function cpuMsPerCall(times: number, run: () => void): number {
  const before = process.cpuUsage();
  for (let i = 0; i < times; i++) run();
  const { user, system } = process.cpuUsage(before);
  return (user + system) / 1000 / times;
}

describe('verifyGenesysSignature: what an unsigned request costs', () => {
  const deeplyNested = Buffer.from(`${'['.repeat(512 * 1024)}${']'.repeat(512 * 1024)}`); // 1 MiB, 524,288 levels
  const wrongSignature = signGenesysBody('{"another":"body"}', SECRET);

  it('refuses a 1 MB deeply nested body for about the price of hashing it', () => {
    expect(verifyGenesysSignature(deeplyNested, wrongSignature, SECRET)).toEqual({ ok: false, reason: 'mismatch' });
    const hashing = cpuMsPerCall(16, () => createHmac('sha256', SECRET).update(deeplyNested).digest());
    const refusing = cpuMsPerCall(16, () => verifyGenesysSignature(deeplyNested, wrongSignature, SECRET));
    // One HMAC plus a header check: twice the hash and 2 ms absorb timer granularity and a busy machine. Parsing and
    // re-serialising the body first, as the fallback used to for every body, cost ~250 ms: a hundred times more.
    expect(refusing).toBeLessThanOrEqual(2 * hashing + 2);
  });

  it('tries the re-serialised form only on bodies small and shallow enough', () => {
    const nestedAsSpaced = (depth: number) => Buffer.from(`${'[ '.repeat(depth)}${' ]'.repeat(depth)}`);
    const signedReserialized = (raw: Buffer) => signGenesysBody(JSON.stringify(JSON.parse(raw.toString('utf8'))), SECRET);
    const shallow = nestedAsSpaced(FALLBACK_MAX_DEPTH);
    expect(verifyGenesysSignature(shallow, signedReserialized(shallow), SECRET)).toEqual({ ok: true, variant: 'base64-reserialized' });
    const deep = nestedAsSpaced(FALLBACK_MAX_DEPTH + 1);
    expect(verifyGenesysSignature(deep, signedReserialized(deep), SECRET)).toEqual({ ok: false, reason: 'mismatch' });

    const spaced = (bytes: number) => Buffer.from(`{"text": "${'a'.repeat(bytes - 13)}" }`);
    expect(spaced(FALLBACK_MAX_BYTES)).toHaveLength(FALLBACK_MAX_BYTES);
    const small = spaced(FALLBACK_MAX_BYTES);
    expect(verifyGenesysSignature(small, signedReserialized(small), SECRET)).toEqual({ ok: true, variant: 'base64-reserialized' });
    const large = spaced(FALLBACK_MAX_BYTES + 1);
    expect(verifyGenesysSignature(large, signedReserialized(large), SECRET)).toEqual({ ok: false, reason: 'mismatch' });
    expect(verifyGenesysSignature(large, signGenesysBody(large, SECRET), SECRET)).toEqual({ ok: true, variant: 'base64' });
  });

  it('counts brackets inside strings as text, not nesting', () => {
    const raw = Buffer.from(`{ "text": "${'['.repeat(100)}" }`);
    expect(verifyGenesysSignature(raw, signGenesysBody(JSON.stringify(JSON.parse(raw.toString())), SECRET), SECRET)).toEqual({
      ok: true,
      variant: 'base64-reserialized',
    });
  });
});
