import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseInstagramWebhook } from '../src/channels/instagram/parse.js';
import type { InboundEvent, InboundMessage, ParseResult } from '../src/core/events.js';
import { mutatedDocument } from './json-mutation.js';

const FIXTURES = new URL('./fixtures/instagram/', import.meta.url);
const FIXTURE_NAMES = readdirSync(FIXTURES).filter((f) => f.endsWith('.json'));
const ACCOUNT = '17841400000000042';
const CUSTOMER = '9900112233445566';
const PLACEHOLDER = '[the customer sent something Instagram cannot show here]';

function fixture(name: string): any {
  return JSON.parse(readFileSync(new URL(name, FIXTURES), 'utf8'));
}

function parseFixture(name: string): ParseResult {
  return parseInstagramWebhook(fixture(name));
}

/** The fixture's only item, as the agent-facing message it must become. */
function onlyMessage(result: ParseResult): InboundMessage {
  expect(result.skipped).toEqual([]);
  expect(result.events).toHaveLength(1);
  const [event] = result.events;
  expect(event?.kind).toBe('message');
  return event as InboundMessage;
}

function messages(result: ParseResult): InboundMessage[] {
  return result.events.filter((e): e is InboundMessage => e.kind === 'message');
}

/** The first messaging item of a fixture, to vary one field at a time. */
function withFirstItem(name: string, change: (item: any) => void): unknown {
  const body = fixture(name);
  change(body.entry[0].messaging[0]);
  return body;
}

function mid(name: string): string {
  return fixture(name).entry[0].messaging[0].message.mid;
}

describe('parseInstagramWebhook: messages', () => {
  it('turns a text DM into one message that opens the reply window', () => {
    const m = onlyMessage(parseFixture('text.json'));
    expect(m).toMatchObject({
      channel: 'instagram',
      accountId: ACCOUNT,
      customerId: CUSTOMER,
      subtype: 'text',
      messageId: mid('text.json'),
      text: 'Is this in stock?',
      attributes: {},
      opensWindow: true,
      timestamp: 1772442999870,
    });
    expect(m.attachment).toBeUndefined();
    expect(m.dedupeKey).toBe(`instagram:${ACCOUNT}:message:${mid('text.json')}`);
  });

  it('gives a redelivered event the same dedupe key', () => {
    const keys = (r: ParseResult) => r.events.map((e) => e.dedupeKey);
    for (const name of FIXTURE_NAMES) expect(keys(parseFixture(name))).toEqual(keys(parseFixture(name)));
  });

  it('forwards a quick reply as its title and keeps the payload as an attribute', () => {
    const m = onlyMessage(parseFixture('quick-reply.json'));
    expect(m).toMatchObject({ subtype: 'quick_reply', text: 'Order status', opensWindow: true });
    expect(m.attributes).toEqual({ 'dmbridge.quickReplyPayload': 'QR_ORDER' });
  });

  it('points a reply at the quoted message with refersTo', () => {
    const m = onlyMessage(parseFixture('reply-to-message.json'));
    const quoted = fixture('reply-to-message.json').entry[0].messaging[0].message.reply_to.mid;
    expect(m).toMatchObject({ subtype: 'text', text: 'Yes, that one please', refersTo: quoted });
  });

  it('shows a story reply as the text plus the story link, never as a stored attachment', () => {
    const m = onlyMessage(parseFixture('story-reply.json'));
    const url = fixture('story-reply.json').entry[0].messaging[0].message.reply_to.story.url;
    expect(m.subtype).toBe('story_reply');
    expect(m.text).toBe(`Love this colour!\n↩️ replied to your story: ${url}`);
    expect(m.attachment).toBeUndefined();
    expect(m.opensWindow).toBe(true);
  });

  it('sends an image with its caption as one message, guessing image/jpeg for CDN links without extension, the CDN link only as a reference for the /media route', () => {
    const m = onlyMessage(parseFixture('image.json'));
    const url = fixture('image.json').entry[0].messaging[0].message.attachments[0].payload.url;
    expect(m).toMatchObject({ subtype: 'image', text: 'This one', opensWindow: true });
    expect(m.attachment).toEqual({ mediaType: 'Image', url: '', reference: { platform: 'instagram', kind: 'image', url }, mime: 'image/jpeg' });
  });

  it('takes the mime type and file name of a video from the URL path', () => {
    const m = onlyMessage(parseFixture('video.json'));
    expect(m.text).toBeUndefined();
    expect(m.attachment).toMatchObject({ mediaType: 'Video', mime: 'video/mp4', filename: '10000000_1234567890_n.mp4' });
  });

  it('keeps a voice note in an .mp4 file typed as audio/mp4', () => {
    const m = onlyMessage(parseFixture('audio.json'));
    expect(m.attachment).toMatchObject({ mediaType: 'Audio', mime: 'audio/mp4', filename: 'audioclip-1772442999000-2840.mp4' });
  });

  it('decodes the file name of a document and types it from its extension', () => {
    const m = onlyMessage(parseFixture('file.json'));
    expect(m.attachment).toMatchObject({ mediaType: 'File', mime: 'application/pdf', filename: 'order confirmation.pdf' });
  });

  it('falls back to application/octet-stream for a file without extension', () => {
    const body = withFirstItem('file.json', (item) => {
      item.message.attachments[0].payload.url = 'https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1&signature=x';
    });
    expect(onlyMessage(parseInstagramWebhook(body)).attachment).toMatchObject({ mime: 'application/octet-stream' });
    expect(onlyMessage(parseInstagramWebhook(body)).attachment?.filename).toBeUndefined();
  });

  it('delivers a sticker as an image', () => {
    const m = onlyMessage(parseFixture('sticker.json'));
    expect(m).toMatchObject({ subtype: 'image', attachment: { mediaType: 'Image', mime: 'image/webp' } });
  });

  it('splits several attachments into one message each, the first carrying the text', () => {
    const result = parseFixture('multiple-attachments.json');
    const base = mid('multiple-attachments.json');
    expect(result.skipped).toEqual([]);
    const parts = messages(result);
    expect(parts.map((p) => p.messageId)).toEqual([base, `${base}#1`, `${base}#2`]);
    expect(parts.map((p) => p.dedupeKey)).toEqual([
      `instagram:${ACCOUNT}:message:${base}`,
      `instagram:${ACCOUNT}:message:${base}#1`,
      `instagram:${ACCOUNT}:message:${base}#2`,
    ]);
    expect(parts.map((p) => p.text)).toEqual(['Which of these fits best?', undefined, undefined]);
    expect(parts.every((p) => p.attachment?.mediaType === 'Image')).toBe(true);
  });

  it('collapses a share + ig_post pair into one shared-post message', () => {
    const m = onlyMessage(parseFixture('share-post.json'));
    expect(m.text).toBe('🔗 shared a post: New spring collection 🌸 https://www.instagram.com/p/DAbCdEfGhIj/');
    expect(m.attachment).toBeUndefined();
  });

  it('keeps a shared post when only the share or only the ig_post is present', () => {
    for (const keep of [0, 1]) {
      const body = withFirstItem('share-post.json', (item) => {
        item.message.attachments = [item.message.attachments[keep]];
      });
      expect(onlyMessage(parseInstagramWebhook(body)).text).toMatch(/^🔗 shared a post: New spring collection/);
    }
  });

  it('keeps two different shared posts apart', () => {
    const body = withFirstItem('share-post.json', (item) => {
      item.message.attachments[0].payload.ig_post_media_id = '18050000000000999';
    });
    expect(messages(parseInstagramWebhook(body))).toHaveLength(2);
  });

  it('describes a shared reel with its title and link', () => {
    const m = onlyMessage(parseFixture('reel.json'));
    expect(m.text).toBe('🎬 shared a reel: How we pack your order https://www.instagram.com/reel/DAbCdEfReel/');
    const reel = withFirstItem('reel.json', (item) => {
      item.message.attachments[0].type = 'reel';
    });
    expect(onlyMessage(parseInstagramWebhook(reel)).text).toMatch(/^🎬 shared a reel: /);
  });

  it('turns a story mention into text with the story link and no attachment', () => {
    const m = onlyMessage(parseFixture('story-mention.json'));
    const url = fixture('story-mention.json').entry[0].messaging[0].message.attachments[0].payload.url;
    expect(m).toMatchObject({ subtype: 'story_mention', text: `📣 mentioned you in their story: ${url}`, opensWindow: true });
    expect(m.attachment).toBeUndefined();
  });

  it('treats a STORY_MENTION referral like a story mention attachment', () => {
    const m = onlyMessage(parseFixture('story-mention-referral.json'));
    const url = fixture('story-mention-referral.json').entry[0].messaging[0].referral.url;
    expect(m).toMatchObject({ subtype: 'story_mention', text: `📣 mentioned you in their story: ${url}`, opensWindow: true });
    expect(m.attachment).toBeUndefined();
    expect(m.dedupeKey).toMatch(new RegExp(`^instagram:${ACCOUNT}:referral:`));
  });

  it('explains a disappearing photo instead of sending an empty message', () => {
    const m = onlyMessage(parseFixture('ephemeral.json'));
    expect(m).toMatchObject({ subtype: 'ephemeral', text: '[disappearing photo or video – Instagram does not share it]' });
  });

  it('shows a like_heart as a heart', () => {
    expect(onlyMessage(parseFixture('like-heart.json'))).toMatchObject({ subtype: 'like_heart', text: '❤️' });
  });

  it('uses a placeholder for attachment types Instagram does not deliver, including unknown ones', () => {
    expect(onlyMessage(parseFixture('unsupported-attachment.json'))).toMatchObject({ subtype: 'unsupported_type', text: PLACEHOLDER });
    for (const [type, subtype] of [['ig_story', 'ig_story'], ['template', 'template'], ['fallback', 'fallback'], ['hologram', 'unknown_attachment']]) {
      const body = withFirstItem('unsupported-attachment.json', (item) => {
        item.message.attachments[0].type = type;
      });
      expect(onlyMessage(parseInstagramWebhook(body))).toMatchObject({ subtype, text: PLACEHOLDER });
    }
  });

  it('uses a placeholder for is_unsupported messages', () => {
    expect(onlyMessage(parseFixture('is-unsupported.json'))).toMatchObject({ subtype: 'unsupported', text: PLACEHOLDER, opensWindow: true });
  });

  it('uses a placeholder for a message with neither text nor attachments', () => {
    expect(onlyMessage(parseFixture('empty-message.json'))).toMatchObject({ subtype: 'empty', text: PLACEHOLDER });
  });

  it('uses a placeholder for a media attachment without a usable URL', () => {
    const body = withFirstItem('image.json', (item) => {
      item.message.attachments[0].payload = { url: 'javascript:alert(1)' };
    });
    const m = onlyMessage(parseInstagramWebhook(body));
    expect(m).toMatchObject({ subtype: 'image', text: `This one\n${PLACEHOLDER}` });
    expect(m.attachment).toBeUndefined();
  });

  it('notes an unsend with its own dedupe kind, so it does not collide with the original message', () => {
    const m = onlyMessage(parseFixture('deleted.json'));
    const original = mid('deleted.json');
    expect(original).toBe(mid('text.json'));
    expect(m).toMatchObject({ subtype: 'deleted', text: '🗑️ unsent a message', refersTo: original, opensWindow: false });
    expect(m.dedupeKey).toBe(`instagram:${ACCOUNT}:deleted:${original}`);
    expect(m.dedupeKey).not.toBe(onlyMessage(parseFixture('text.json')).dedupeKey);
    expect(m.messageId).not.toBe(original);
  });

  it('reports an echo of the brand’s own message as an echo, never as customer input', () => {
    const result = parseFixture('echo.json');
    expect(result.skipped).toEqual([]);
    expect(result.events).toEqual([
      {
        channel: 'instagram',
        kind: 'echo',
        accountId: ACCOUNT,
        customerId: CUSTOMER,
        dedupeKey: `instagram:${ACCOUNT}:echo:${mid('echo.json')}`,
        timestamp: 1772442999870,
        messageId: mid('echo.json'),
        text: 'Yes, it ships tomorrow!',
      },
    ]);
  });

  it('skips a mistyped echo flag instead of guessing it is a customer message', () => {
    const body = withFirstItem('echo.json', (item) => {
      item.message.is_echo = 'true';
    });
    const result = parseInstagramWebhook(body);
    expect(result.events).toEqual([]);
    expect(result.skipped).toMatchObject([{ reason: 'malformed' }]);
  });

  it('skips self-messaging tests', () => {
    expect(parseFixture('self.json')).toEqual({ events: [], skipped: [{ channel: 'instagram', reason: 'self_test' }] });
  });

  it('forwards the text of an ad referral and keeps the ad ids as attributes', () => {
    const m = onlyMessage(parseFixture('ad-referral.json'));
    expect(m.text).toBe('Hi, is the spring offer still on?');
    expect(m.attributes).toEqual({
      'dmbridge.referral.ref': 'spring-promo',
      'dmbridge.referral.source': 'ADS',
      'dmbridge.referral.type': 'OPEN_THREAD',
      'dmbridge.referral.adId': '120200000000000042',
      'dmbridge.referral.adTitle': 'Spring sale – 20% off mugs',
    });
  });

  it('keeps the product id of a Shop referral as an attribute', () => {
    const m = onlyMessage(parseFixture('shop-referral.json'));
    expect(m).toMatchObject({ text: 'Do you have this in blue?', attributes: { 'dmbridge.referral.productId': '7300000000000023' } });
  });
});

describe('parseInstagramWebhook: other events', () => {
  it('shows a reaction as text about the reacted message, without opening the window', () => {
    const m = onlyMessage(parseFixture('reaction.json'));
    const reacted = fixture('reaction.json').entry[0].messaging[0].reaction.mid;
    expect(m).toMatchObject({ subtype: 'reaction', text: 'reacted ❤️ to your message', refersTo: reacted, opensWindow: false });
    expect(m.dedupeKey).toBe(`instagram:${ACCOUNT}:reaction:${CUSTOMER}:${reacted}:react:❤️:1772442999870`);
  });

  it('shows an unreact as a removed reaction with its own dedupe key', () => {
    const m = onlyMessage(parseFixture('unreaction.json'));
    expect(m).toMatchObject({ subtype: 'unreaction', text: 'removed their reaction', opensWindow: false });
    expect(m.refersTo).toBe(fixture('unreaction.json').entry[0].messaging[0].reaction.mid);
    expect(m.dedupeKey).not.toBe(onlyMessage(parseFixture('reaction.json')).dedupeKey);
  });

  it('reports a read receipt as a read event for the seen message', () => {
    const result = parseFixture('read.json');
    const seen = fixture('read.json').entry[0].messaging[0].read.mid;
    expect(result.skipped).toEqual([]);
    expect(result.events).toEqual([
      {
        channel: 'instagram',
        kind: 'read',
        accountId: ACCOUNT,
        customerId: CUSTOMER,
        dedupeKey: `instagram:${ACCOUNT}:read:${CUSTOMER}:${seen}:1772442999870`,
        timestamp: 1772442999870,
        messageId: seen,
      },
    ]);
  });

  it('forwards a postback as its button title with the payload as an attribute', () => {
    const m = onlyMessage(parseFixture('postback.json'));
    const postbackMid = fixture('postback.json').entry[0].messaging[0].postback.mid;
    expect(m).toMatchObject({
      subtype: 'postback',
      text: 'Track my order',
      attributes: { 'dmbridge.postbackPayload': 'TRACK' },
      opensWindow: true,
      messageId: postbackMid,
      dedupeKey: `instagram:${ACCOUNT}:postback:${postbackMid}`,
    });
  });

  it('tells the agent the customer opened the chat from a link, without opening the window', () => {
    const m = onlyMessage(parseFixture('link-referral.json'));
    expect(m).toMatchObject({
      subtype: 'referral',
      text: '🔗 opened the chat from a link (ref: bio-link)',
      opensWindow: false,
      attributes: { 'dmbridge.referral.ref': 'bio-link', 'dmbridge.referral.type': 'OPEN_THREAD' },
    });
  });

  it('forwards an edit as a new message referring to the edited one', () => {
    const m = onlyMessage(parseFixture('message-edit.json'));
    const edited = fixture('message-edit.json').entry[0].messaging[0].message_edit.mid;
    expect(m).toMatchObject({ subtype: 'edit', text: '✏️ edited a message: Is this in stock in size M?', refersTo: edited });
    expect(m.dedupeKey).toBe(`instagram:${ACCOUNT}:edit:${edited}#1`);
    expect(m.dedupeKey).not.toBe(onlyMessage(parseFixture('text.json')).dedupeKey);
  });

  it('skips handover events with reason handover', () => {
    expect(parseFixture('handover.json')).toEqual({
      events: [],
      skipped: ['pass_thread_control', 'take_thread_control', 'request_thread_control'].map((detail) => ({
        channel: 'instagram',
        reason: 'handover',
        detail,
      })),
    });
  });

  it('skips optins', () => {
    expect(parseFixture('optin.json')).toEqual({ events: [], skipped: [{ channel: 'instagram', reason: 'optin' }] });
  });

  it('skips every standby item, since another app owns the thread', () => {
    expect(parseFixture('standby.json').skipped).toEqual([
      { channel: 'instagram', reason: 'standby', detail: 'message' },
      { channel: 'instagram', reason: 'standby', detail: 'postback' },
    ]);
  });

  it('skips comments, also when field/value sit directly under the entry', () => {
    expect(parseFixture('comment.json')).toEqual({ events: [], skipped: [{ channel: 'instagram', reason: 'comment', detail: 'comments' }] });
    const body = fixture('comment.json');
    const [change] = body.entry[0].changes;
    body.entry[0] = { id: ACCOUNT, time: 1772443100, field: 'mentions', value: change.value };
    expect(parseInstagramWebhook(body).skipped).toEqual([{ channel: 'instagram', reason: 'comment', detail: 'mentions' }]);
  });

  it('drops the dashboard test event, whichever container it comes in', () => {
    expect(parseFixture('dashboard-test.json')).toEqual({ events: [], skipped: [{ channel: 'instagram', reason: 'dashboard_test' }] });
    const messagingStyle = { object: 'instagram', entry: [{ id: '0', time: 1772443100, messaging: [fixture('text.json').entry[0].messaging[0]] }] };
    expect(parseInstagramWebhook(messagingStyle)).toEqual({ events: [], skipped: [{ channel: 'instagram', reason: 'dashboard_test' }] });
    const changesStyle = fixture('dashboard-test.json');
    changesStyle.entry[0].id = ACCOUNT;
    expect(parseInstagramWebhook(changesStyle).skipped).toEqual([{ channel: 'instagram', reason: 'dashboard_test', detail: 'messages' }]);
  });

  it('names the keys of an unknown event kind', () => {
    expect(parseFixture('unknown-kind.json')).toEqual({ events: [], skipped: [{ channel: 'instagram', reason: 'unknown_kind', detail: 'poll_vote' }] });
  });

  it('names the keys of an entry that holds no known container', () => {
    const body = { object: 'instagram', entry: [{ id: ACCOUNT, time: 1772443000000, hologram: [] }] };
    expect(parseInstagramWebhook(body)).toEqual({ events: [], skipped: [{ channel: 'instagram', reason: 'unknown_kind', detail: 'entry: hologram' }] });
  });

  it('skips everything when the object is not instagram', () => {
    expect(parseFixture('not-instagram.json')).toEqual({ events: [], skipped: [{ channel: 'instagram', reason: 'wrong_object', detail: 'page' }] });
  });
});

describe('parseInstagramWebhook: batches and surprises', () => {
  it('parses every entry and every item of a batch, in order', () => {
    const result = parseFixture('batch.json');
    expect(result.events.map((e) => [e.kind, e.accountId, 'subtype' in e ? e.subtype : undefined])).toEqual([
      ['message', ACCOUNT, 'text'],
      ['message', ACCOUNT, 'image'],
      ['message', ACCOUNT, 'video'],
      ['message', ACCOUNT, 'reaction'],
      ['read', ACCOUNT, undefined],
      ['echo', ACCOUNT, undefined],
      ['message', '17841400000000077', 'text'],
      ['message', '17841400000000077', 'postback'],
    ]);
    expect(result.skipped).toEqual([{ channel: 'instagram', reason: 'standby', detail: 'message' }]);
  });

  it('loses nothing in a batch of 1000 updates across 50 entries', () => {
    const template = fixture('text.json').entry[0];
    const entry = (e: number) => ({
      ...template,
      id: String(17841400000001000 + e * 10),
      messaging: Array.from({ length: 20 }, (_, i) => ({
        ...template.messaging[0],
        timestamp: 1772442999870 + e * 20 + i,
        message: { mid: `m-${e}-${i}`, text: `message ${e}/${i}` },
      })),
    });
    const result = parseInstagramWebhook({ object: 'instagram', entry: Array.from({ length: 50 }, (_, e) => entry(e)) });
    expect(result.skipped).toEqual([]);
    expect(result.events.map((e) => e.messageId)).toEqual(
      Array.from({ length: 1000 }, (_, n) => `m-${Math.floor(n / 20)}-${n % 20}`),
    );
    expect(new Set(result.events.map((e) => e.dedupeKey)).size).toBe(1000);
  });

  it('skips a malformed item without dropping the rest of the batch', () => {
    const body = fixture('batch.json');
    body.entry[0].messaging.splice(1, 0, { sender: {}, message: null }, 42, null);
    body.entry.splice(1, 0, 'not an entry', { id: { nested: true }, messaging: [] });
    const result = parseInstagramWebhook(body);
    expect(result.events).toHaveLength(parseFixture('batch.json').events.length);
    expect(result.skipped.filter((s) => s.reason === 'malformed')).toHaveLength(5);
  });

  it('accepts numeric-string timestamps and falls back to entry.time', () => {
    const asString = withFirstItem('text.json', (item) => {
      item.timestamp = '1772442999870';
    });
    expect(onlyMessage(parseInstagramWebhook(asString)).timestamp).toBe(1772442999870);
    const missing = withFirstItem('text.json', (item) => {
      delete item.timestamp;
    });
    expect(onlyMessage(parseInstagramWebhook(missing)).timestamp).toBe(fixture('text.json').entry[0].time);
  });

  it('skips an item with no usable timestamp at all', () => {
    const body = withFirstItem('text.json', (item) => {
      item.timestamp = 'yesterday';
    });
    (body as any).entry[0].time = null;
    expect(parseInstagramWebhook(body)).toMatchObject({ events: [], skipped: [{ reason: 'malformed' }] });
  });

  it('refuses ids that JSON numbers would have rounded, accepts exact ones', () => {
    const rounded = withFirstItem('text.json', (item) => {
      item.sender.id = 9900112233445566789;
    });
    expect(parseInstagramWebhook(rounded)).toMatchObject({ events: [], skipped: [{ reason: 'malformed' }] });
    const exact = withFirstItem('text.json', (item) => {
      item.sender.id = 99001122;
    });
    expect(onlyMessage(parseInstagramWebhook(exact)).customerId).toBe('99001122');
  });

  it('ignores unknown fields everywhere', () => {
    const body = withFirstItem('image.json', (item) => {
      item.brand_new_field = { x: 1 };
      item.message.brand_new_flag = true;
      item.message.attachments[0].payload.brand_new = [1, 2];
    });
    (body as any).entry[0].brand_new_entry_field = 'x';
    expect(onlyMessage(parseInstagramWebhook(body))).toEqual(onlyMessage(parseFixture('image.json')));
  });

  it('parses every fixture with no skips other than the ones it is about', () => {
    const expectedSkips: Record<string, string[]> = {
      'comment.json': ['comment'],
      'dashboard-test.json': ['dashboard_test'],
      'handover.json': ['handover', 'handover', 'handover'],
      'optin.json': ['optin'],
      'self.json': ['self_test'],
      'standby.json': ['standby', 'standby'],
      'unknown-kind.json': ['unknown_kind'],
      'not-instagram.json': ['wrong_object'],
      'batch.json': ['standby'],
    };
    for (const name of FIXTURE_NAMES) {
      const result = parseFixture(name);
      expect(result.skipped.map((s) => s.reason), name).toEqual(expectedSkips[name] ?? []);
      expect(result.events.length + result.skipped.length, name).toBeGreaterThan(0);
    }
  });

  it('never gives the agent an empty message', () => {
    for (const name of FIXTURE_NAMES) {
      for (const m of messages(parseFixture(name))) expect(Boolean(m.text) || m.attachment !== undefined, name).toBe(true);
    }
  });
});

describe('parseInstagramWebhook: properties', () => {
  /** What every result must look like, whatever came in. */
  function expectWellFormed(result: ParseResult): void {
    expect(Array.isArray(result.events) && Array.isArray(result.skipped)).toBe(true);
    for (const s of result.skipped) expect(s.reason).toMatch(/^[a-z_]+$/);
    for (const e of result.events as InboundEvent[]) {
      expect(e.dedupeKey.startsWith(`instagram:${e.accountId}:`)).toBe(true);
      expect(Number.isSafeInteger(e.timestamp)).toBe(true);
      if (e.kind === 'message') expect(Boolean(e.text) || e.attachment !== undefined).toBe(true);
    }
  }

  it('never throws on arbitrary JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (body) => {
        expectWellFormed(parseInstagramWebhook(body));
      }),
      { numRuns: 500 },
    );
  });

  it('never throws on arbitrary messaging items inside a valid envelope', () => {
    const anyId = fc.oneof(fc.string(), fc.integer(), fc.constant(null));
    const item = fc.record(
      {
        sender: fc.record({ id: anyId }),
        recipient: fc.record({ id: anyId }),
        timestamp: fc.oneof(fc.integer(), fc.string(), fc.constant(null)),
        message: fc.jsonValue(),
        reaction: fc.jsonValue(),
        read: fc.jsonValue(),
        postback: fc.jsonValue(),
        referral: fc.jsonValue(),
        message_edit: fc.jsonValue(),
      },
      { requiredKeys: ['sender', 'recipient'] },
    );
    fc.assert(
      fc.property(fc.array(item, { maxLength: 5 }), (items) => {
        expectWellFormed(parseInstagramWebhook({ object: 'instagram', entry: [{ id: ACCOUNT, time: 1772443000000, messaging: items }] }));
      }),
      { numRuns: 500 },
    );
  });

  it('never throws on fixtures with one value replaced or removed anywhere', () => {
    const bodies = FIXTURE_NAMES.map((name) => fixture(name));
    fc.assert(
      fc.property(mutatedDocument(bodies), (mutated) => {
        expectWellFormed(parseInstagramWebhook(mutated));
      }),
      { numRuns: 1000 },
    );
  });
});
