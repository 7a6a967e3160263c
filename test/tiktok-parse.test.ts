import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { EU_ANONYMOUS_CUSTOMER, EU_MESSAGE_TEXT, parseTikTokWebhook, type TikTokParseResult } from '../src/channels/tiktok/parse.js';
import { signTikTokBody, verifyTikTokSignature } from '../src/channels/tiktok/verify.js';
import type { InboundEvent, InboundMessage } from '../src/core/events.js';
import { mutatedDocument } from './json-mutation.js';

const FIXTURES = new URL('./fixtures/tiktok/', import.meta.url);
const FIXTURE_NAMES = readdirSync(FIXTURES).filter((f) => f.endsWith('.json'));
const BUSINESS = '-000aBcD1234';
const APP_ID = '7600000000000000042';
const CUSTOMER = '+ZMM6I2kQ';
const CONVERSATION = 'u5Jh+pse/AhoPOlnH0tZ9y==';
const PLACEHOLDER = '[the customer sent something TikTok cannot show here]';

function raw(name: string): string {
  return readFileSync(new URL(name, FIXTURES), 'utf8');
}

/** The envelope as the intake has it: the body through plain JSON.parse. */
function fixture(name: string): any {
  return JSON.parse(raw(name));
}

/** The fixture's content, parsed (plain JSON.parse: only for fields without big ints). */
function content(name: string): any {
  return JSON.parse(fixture(name).content);
}

function parseFixture(name: string): TikTokParseResult {
  return parseTikTokWebhook(fixture(name));
}

/** The same fixture with one content field changed. */
function withContent(name: string, change: (content: any) => void): unknown {
  const envelope = fixture(name);
  const inner = JSON.parse(envelope.content);
  change(inner);
  envelope.content = JSON.stringify(inner);
  return envelope;
}

function onlyMessage(result: TikTokParseResult): InboundMessage {
  expect(result.skipped).toEqual([]);
  expect(result.events).toHaveLength(1);
  const [event] = result.events;
  expect(event?.kind).toBe('message');
  return event as InboundMessage;
}

function onlySkip(result: TikTokParseResult) {
  expect(result.events).toEqual([]);
  expect(result.skipped).toHaveLength(1);
  return result.skipped[0]!;
}

describe('parseTikTokWebhook: customer messages', () => {
  it('turns a text DM into one message from the customer, in the conversation, that opens the reply window', () => {
    const result = parseFixture('text.json');
    expect(result.businessId).toBe(BUSINESS);
    expect(result.events).toEqual([
      {
        channel: 'tiktok',
        kind: 'message',
        accountId: BUSINESS,
        customerId: CUSTOMER,
        dedupeKey: `tiktok:${BUSINESS}:message:u5Bu+qc6lAghuOel==`,
        timestamp: 1772442999870,
        threadId: CONVERSATION,
        subtype: 'text',
        messageId: 'u5Bu+qc6lAghuOel==',
        text: 'Is this in stock?',
        attributes: { 'dmbridge.tiktok.username': 'jane.doe' },
        opensWindow: true,
      },
    ]);
    expect(result.skipped).toEqual([]);
  });

  it('falls back to the envelope create_time (seconds → ms) when the content has no timestamp', () => {
    const m = onlyMessage(parseTikTokWebhook(withContent('text.json', (c) => delete c.timestamp)));
    expect(m.timestamp).toBe(1772443000 * 1000);
  });

  it('gives a redelivered event the same dedupe key', () => {
    const keys = (r: TikTokParseResult) => r.events.map((e) => e.dedupeKey);
    for (const name of FIXTURE_NAMES) expect(keys(parseFixture(name)), name).toEqual(keys(parseFixture(name)));
  });

  it('hands an image over as a media reference for the bridge to fetch, with an empty url', () => {
    const m = onlyMessage(parseFixture('image.json'));
    expect(m).toMatchObject({ subtype: 'image', messageId: 'u5Bu+qc6lAghuImg==', opensWindow: true });
    expect(m.text).toBeUndefined();
    expect(m.attachment).toEqual({
      mediaType: 'Image',
      url: '',
      mime: 'image/jpeg',
      reference: { platform: 'tiktok', conversationId: CONVERSATION, messageId: 'u5Bu+qc6lAghuImg==', mediaId: 'v10044g50000imgd3a1', mediaType: 'IMAGE' },
    });
  });

  it('hands a video over as a media reference of type VIDEO', () => {
    const m = onlyMessage(parseFixture('video.json'));
    expect(m.attachment).toEqual({
      mediaType: 'Video',
      url: '',
      mime: 'video/mp4',
      reference: { platform: 'tiktok', conversationId: CONVERSATION, messageId: 'u5Bu+qc6lAghuVid==', mediaId: 'v10044g50000vidq7k2', mediaType: 'VIDEO' },
    });
  });

  it('uses a placeholder for an image without a media id', () => {
    const m = onlyMessage(parseTikTokWebhook(withContent('image.json', (c) => delete c.image.media_id)));
    expect(m).toMatchObject({ subtype: 'image', text: PLACEHOLDER });
    expect(m.attachment).toBeUndefined();
  });

  it('shows a shared TikTok video as its link and keeps the video id as an attribute', () => {
    const m = onlyMessage(parseFixture('share-post.json'));
    expect(m).toMatchObject({
      subtype: 'share_post',
      text: '🔗 shared a TikTok video: https://www.tiktok.com/player/v1/7600000000000000001?music_info=1&description=1',
      attributes: { 'dmbridge.tiktok.videoId': '7600000000000000001', 'dmbridge.tiktok.username': 'jane.doe' },
      opensWindow: true,
    });
  });

  it('shows a sticker as a link in the text, since sticker URLs expire', () => {
    const m = onlyMessage(parseFixture('sticker.json'));
    expect(m).toMatchObject({ subtype: 'sticker', text: `[sticker] ${content('sticker.json').sticker.url}`, opensWindow: true });
    expect(m.attachment).toBeUndefined();
  });

  it('shows an emoji as its URL, or as the emoji itself when TikTok sends one', () => {
    expect(onlyMessage(parseFixture('emoji.json'))).toMatchObject({
      subtype: 'emoji',
      text: '[emoji] https://p16-im-va.tiktokcdn.com/obj/emoji/heart-eyes.png',
      opensWindow: true,
    });
    expect(onlyMessage(parseTikTokWebhook(withContent('emoji.json', (c) => (c.emoji.emoji = '😍')))).text).toBe('😍');
  });

  it('never shows a non-http URL as a link', () => {
    expect(onlyMessage(parseTikTokWebhook(withContent('sticker.json', (c) => (c.sticker.url = 'javascript:alert(1)')))).text).toBe('[sticker]');
  });

  it('forwards a Q&A button click sent as text with the button id as an attribute', () => {
    const m = onlyMessage(parseFixture('button-reply.json'));
    expect(m).toMatchObject({
      subtype: 'button_reply',
      text: 'Yes',
      attributes: { 'dmbridge.tiktok.buttonId': 'YES', 'dmbridge.tiktok.username': 'jane.doe' },
      opensWindow: true,
    });
  });

  it('shows a template click as the title of the clicked button, with its id as an attribute', () => {
    const m = onlyMessage(parseFixture('template-click.json'));
    expect(m).toMatchObject({ subtype: 'template', text: 'No', attributes: { 'dmbridge.tiktok.buttonId': 'NO' }, opensWindow: true });
  });

  it('shows a template click whose button cannot be found as a tapped button', () => {
    const body = withContent('template-click.json', (c) => (c.reply_source_payload.reply_source_unique_id = 'MAYBE'));
    expect(onlyMessage(parseTikTokWebhook(body))).toMatchObject({ text: '🔘 tapped a button', attributes: { 'dmbridge.tiktok.buttonId': 'MAYBE' } });
  });

  it('points a quoted reply at the quoted message with refersTo', () => {
    const m = onlyMessage(parseFixture('reply-to-message.json'));
    expect(m).toMatchObject({ subtype: 'text', text: 'Yes, that one please', refersTo: 'u5Bu+qc6lAghuOut==' });
  });

  it('uses a placeholder for an unknown message type and names the type in an attribute', () => {
    const m = onlyMessage(parseFixture('unknown-type.json'));
    expect(m).toMatchObject({ subtype: 'unsupported', text: PLACEHOLDER, attributes: { 'dmbridge.tiktok.messageType': 'voice_note' } });
  });

  it('uses a placeholder for an empty text message', () => {
    expect(onlyMessage(parseTikTokWebhook(withContent('text.json', (c) => (c.text.body = '  '))))).toMatchObject({ subtype: 'empty', text: PLACEHOLDER });
  });

  it('skips an im_receive_msg that is not addressed to the business (direction rule)', () => {
    const body = withContent('text.json', (c) => {
      [c.from_user, c.to_user] = [c.to_user, c.from_user];
    });
    expect(onlySkip(parseTikTokWebhook(body))).toEqual({ channel: 'tiktok', reason: 'wrong_direction', detail: 'im_receive_msg' });
  });
});

describe('parseTikTokWebhook: reactions', () => {
  it('shows a reaction as text about the reacted message, without opening the window', () => {
    const m = onlyMessage(parseFixture('reaction.json'));
    expect(m).toMatchObject({
      subtype: 'reaction',
      text: 'reacted 👍 to your message',
      refersTo: 'u5Bu+qc6lAghuOut==',
      opensWindow: false,
      customerId: CUSTOMER,
      threadId: CONVERSATION,
    });
    expect(m.dedupeKey).toBe(`tiktok:${BUSINESS}:reaction:${CUSTOMER}:u5Bu+qc6lAghuOut==:ADD:👍:1772442999870`);
  });

  it('shows a removed reaction with its own dedupe key', () => {
    const m = onlyMessage(parseFixture('unreaction.json'));
    expect(m).toMatchObject({ subtype: 'unreaction', text: 'removed their reaction', refersTo: 'u5Bu+qc6lAghuOut==', opensWindow: false });
    expect(m.dedupeKey).not.toBe(onlyMessage(parseFixture('reaction.json')).dedupeKey);
  });

  it('turns every operation of a reaction array into its own message', () => {
    const body = withContent('reaction.json', (c) => {
      c.reaction.push({ ...c.reaction[0], operation: 'REMOVE', timestamp: 1772443005000 });
    });
    const result = parseTikTokWebhook(body);
    expect(result.events.map((e) => (e as InboundMessage).text)).toEqual(['reacted 👍 to your message', 'removed their reaction']);
    expect(new Set(result.events.map((e) => e.dedupeKey)).size).toBe(2);
  });

  it('skips a malformed reaction operation on its own', () => {
    const body = withContent('reaction.json', (c) => c.reaction.unshift({ operation: 'WIGGLE' }));
    const result = parseTikTokWebhook(body);
    expect(result.events).toHaveLength(1);
    expect(result.skipped).toMatchObject([{ reason: 'malformed' }]);
  });
});

describe('parseTikTokWebhook: other DM events', () => {
  it('tells the agent about a message from the EEA/CH/UK whose content TikTok withholds', () => {
    const result = parseFixture('eu-message.json');
    expect(result.events).toEqual([
      {
        channel: 'tiktok',
        kind: 'message',
        accountId: BUSINESS,
        customerId: EU_ANONYMOUS_CUSTOMER,
        dedupeKey: `tiktok:${BUSINESS}:eu_message:1772442999870`,
        timestamp: 1772442999870,
        subtype: 'eu_message',
        messageId: 'eu:1772442999870',
        text: EU_MESSAGE_TEXT,
        attributes: { 'dmbridge.replyable': 'false' },
        opensWindow: false,
      },
    ]);
    expect(EU_MESSAGE_TEXT).toBe(
      'A TikTok user in the EEA, Switzerland or the UK sent a message. TikTok does not share its content with the API; answer them in the TikTok app.',
    );
  });

  it('still tells the agent about an EU message whose content cannot be read, dated by the envelope', () => {
    const body = { ...fixture('eu-message.json'), content: 'not json' };
    expect(onlyMessage(parseTikTokWebhook(body))).toMatchObject({ customerId: EU_ANONYMOUS_CUSTOMER, timestamp: 1772443000000 });
  });

  it('reports our own API send coming back as an echo with source API, never as customer input', () => {
    const result = parseFixture('echo-api.json');
    expect(result.skipped).toEqual([]);
    expect(result.events).toEqual([
      {
        channel: 'tiktok',
        kind: 'echo',
        accountId: BUSINESS,
        customerId: CUSTOMER,
        dedupeKey: `tiktok:${BUSINESS}:echo:u5Bu+qc6lAghuOut==`,
        timestamp: 1772443020000,
        threadId: CONVERSATION,
        messageId: 'u5Bu+qc6lAghuOut==',
        text: 'Yes, it ships tomorrow!',
        source: 'API',
      },
    ]);
  });

  it('reports a reply sent from the TikTok app as an echo with source APP', () => {
    const [echo] = parseFixture('echo-app.json').events;
    expect(echo).toMatchObject({ kind: 'echo', customerId: CUSTOMER, source: 'APP', text: 'Sent from my phone: it is in stock.' });
  });

  it('skips an im_send_msg that the business did not send', () => {
    const body = withContent('echo-api.json', (c) => {
      [c.from_user, c.to_user] = [c.to_user, c.from_user];
    });
    expect(onlySkip(parseTikTokWebhook(body)).reason).toBe('wrong_direction');
  });

  it('reports a read as a conversation watermark', () => {
    const result = parseFixture('read.json');
    expect(result.skipped).toEqual([]);
    expect(result.events).toEqual([
      {
        channel: 'tiktok',
        kind: 'read',
        accountId: BUSINESS,
        customerId: CUSTOMER,
        dedupeKey: `tiktok:${BUSINESS}:read:${CONVERSATION}:1772443050000`,
        timestamp: 1772443050000,
        threadId: CONVERSATION,
        messageId: 'read:1772443050000',
      },
    ]);
  });

  it('ignores reads by the business itself', () => {
    const body = withContent('read.json', (c) => {
      [c.from_user, c.to_user] = [c.to_user, c.from_user];
    });
    expect(onlySkip(parseTikTokWebhook(body))).toEqual({ channel: 'tiktok', reason: 'own_read' });
  });

  it('tells the agent the customer came from an ad, with the ad as attributes, without opening the window', () => {
    const m = onlyMessage(parseFixture('referral-ad.json'));
    expect(m).toMatchObject({
      subtype: 'referral',
      customerId: CUSTOMER,
      threadId: CONVERSATION,
      text: '🔗 opened the chat from an ad: Spring sale – 20% off mugs',
      opensWindow: false,
      timestamp: 1772442990000,
    });
    expect(m.attributes).toEqual({
      'dmbridge.tiktok.username': 'jane.doe',
      'dmbridge.referral.source': 'ad',
      'dmbridge.referral.adId': '1830000000000000042',
      'dmbridge.referral.adName': 'Spring sale – 20% off mugs',
    });
    expect(m.dedupeKey).toBe(`tiktok:${BUSINESS}:referral:${CUSTOMER}:ad:1830000000000000042::1772442990000`);
  });

  it('tells the agent the customer came from a short link, with the ref', () => {
    const m = onlyMessage(parseFixture('referral-link.json'));
    expect(m).toMatchObject({ text: '🔗 opened the chat from a link (ref: bio-link)', opensWindow: false });
    expect(m.attributes).toEqual({
      'dmbridge.tiktok.username': 'jane.doe',
      'dmbridge.referral.source': 'short_link',
      'dmbridge.referral.ref': 'bio-link',
    });
  });
});

describe('parseTikTokWebhook: comments and mentions', () => {
  it('shows a new comment with its 19-digit ids exact, as a message that cannot be answered by DM', () => {
    const m = onlyMessage(parseFixture('comment.json'));
    expect(m).toEqual({
      channel: 'tiktok',
      kind: 'message',
      accountId: BUSINESS,
      customerId: CUSTOMER,
      dedupeKey: `tiktok:${BUSINESS}:comment:7600000000000000123:insert`,
      timestamp: 1772443000000,
      subtype: 'comment',
      label: 'TikTok comment',
      messageId: 'comment:7600000000000000123',
      text: '💬 commented on your TikTok video 7600000000000000456: “Does it come in blue?”\nThis comment cannot be answered by DM: TikTok lets a business message only people who have written to it. Reply on TikTok.',
      attributes: {
        'dmbridge.replyable': 'false',
        'dmbridge.tiktok.videoId': '7600000000000000456',
        'dmbridge.tiktok.commentId': '7600000000000000123',
      },
      opensWindow: false,
    });
  });

  it('says so when TikTok leaves the comment text out', () => {
    const envelope = fixture('comment.json');
    envelope.content = envelope.content.replace(/,"text":"[^"]*"/, '');
    expect(onlyMessage(parseTikTokWebhook(envelope)).text).toBe(
      '💬 commented on your TikTok video 7600000000000000456 (TikTok does not send the text: read it on TikTok)\nThis comment cannot be answered by DM: TikTok lets a business message only people who have written to it. Reply on TikTok.',
    );
  });

  it('skips deletes and visibility changes of comments with reason comment_action', () => {
    expect(onlySkip(parseFixture('comment-reply-delete.json'))).toEqual({ channel: 'tiktok', reason: 'comment_action', detail: 'delete' });
  });

  it('shows a reply to a comment with the exact parent comment id', () => {
    const envelope = fixture('comment-reply-delete.json');
    envelope.content = envelope.content.replace('"delete"', '"insert"');
    const m = onlyMessage(parseTikTokWebhook(envelope));
    expect(m.text).toMatch(/^💬 replied to a comment on your TikTok video 7600000000000000456 /);
    expect(m.attributes['dmbridge.tiktok.parentCommentId']).toBe('7600000000000000123');
    expect(m.attributes['dmbridge.tiktok.commentId']).toBe('7600000000000000124');
  });

  it('skips the business’s own comments', () => {
    const envelope = fixture('comment.json');
    envelope.content = envelope.content.replace(CUSTOMER, BUSINESS);
    expect(onlySkip(parseTikTokWebhook(envelope)).reason).toBe('own_comment');
  });

  it('shows a brand mention from its author, with the video link and caption, as not answerable by DM', () => {
    const m = onlyMessage(parseFixture('mention.json'));
    expect(m).toEqual({
      channel: 'tiktok',
      kind: 'message',
      accountId: BUSINESS,
      customerId: CUSTOMER,
      dedupeKey: `tiktok:${BUSINESS}:mention:7600000000000000789:0:CREATE`,
      timestamp: 1772443100000,
      subtype: 'mention',
      label: 'TikTok mention',
      messageId: 'mention:7600000000000000789:0:CREATE',
      text:
        '📣 @jane.doe mentioned the brand in a TikTok video: https://www.tiktok.com/@jane.doe/video/7600000000000000789\n' +
        '“Unboxing my new mug from @acme_store ☕”\n' +
        'This mention cannot be answered by DM: TikTok lets a business message only people who have written to it. Reply on TikTok.',
      attributes: { 'dmbridge.replyable': 'false', 'dmbridge.tiktok.username': 'jane.doe', 'dmbridge.tiktok.videoId': '7600000000000000789' },
      opensWindow: false,
    });
  });

  it('shows a mention in a comment with the comment id, whichever spelling of mention_type TikTok uses', () => {
    const body = withContent('mention.json', (c) => {
      c.mention_type = 'COMMENT';
      c.comment_id = '7600000000000000321';
    });
    const m = onlyMessage(parseTikTokWebhook(body));
    expect(m).toMatchObject({ subtype: 'comment_mention', attributes: { 'dmbridge.tiktok.commentId': '7600000000000000321' } });
    expect(m.text).toMatch(/^📣 mentioned the brand in a comment on a TikTok video: https:/);
    expect(onlyMessage(parseTikTokWebhook(withContent('mention.json', (c) => (c.mention_type = 'VIDEO MENTION')))).subtype).toBe('mention');
  });

  it('skips privacy changes of a mentioning video', () => {
    const body = withContent('mention.json', (c) => (c.type_of_event = 'PRIVACY_CHANGE'));
    expect(onlySkip(parseTikTokWebhook(body))).toEqual({ channel: 'tiktok', reason: 'mention_update', detail: 'PRIVACY_CHANGE' });
  });
});

describe('parseTikTokWebhook: noise and surprises', () => {
  it('skips configuration, publishing, ping and unknown events with their own reasons', () => {
    expect(onlySkip(parseFixture('auto-message-config.json'))).toEqual({ channel: 'tiktok', reason: 'auto_message_config', detail: 'im_auto_message_config_update' });
    expect(onlySkip(parseFixture('post-publish.json'))).toEqual({ channel: 'tiktok', reason: 'post_publish', detail: 'post.publish.publicly_available' });
    expect(onlySkip(parseFixture('ping.json'))).toEqual({ channel: 'tiktok', reason: 'ping' });
    expect(onlySkip(parseFixture('unknown-event.json'))).toEqual({ channel: 'tiktok', reason: 'unknown_event', detail: 'user.follow' });
  });

  it('reports a removed authorization with its own reason, so the bridge can alert', () => {
    const result = parseFixture('authorization-removed.json');
    expect(result.businessId).toBe(BUSINESS);
    expect(onlySkip(result)).toEqual({ channel: 'tiktok', reason: 'authorization_removed', detail: 'reason 1' });
  });

  it('skips a content that is not a JSON string as malformed', () => {
    expect(onlySkip(parseTikTokWebhook({ ...fixture('text.json'), content: content('text.json') })).reason).toBe('malformed');
    expect(onlySkip(parseTikTokWebhook({ ...fixture('text.json'), content: '{"message_id":' })).reason).toBe('malformed');
  });

  it('skips a DM event without user_openid as malformed', () => {
    const { user_openid: _dropped, ...body } = fixture('text.json');
    expect(onlySkip(parseTikTokWebhook(body))).toEqual({ channel: 'tiktok', reason: 'malformed', detail: 'im_receive_msg: no user_openid' });
  });

  it('names field paths, never values, in skip details', () => {
    const body = withContent('text.json', (c) => (c.from_user = { id: 42 }));
    expect(onlySkip(parseTikTokWebhook(body)).detail).toMatch(/^im_receive_msg content\.from_user\.id: /);
  });

  it('parses every fixture into at least one event or skip, with the expected skip reasons only', () => {
    const expectedSkips: Record<string, string[]> = {
      'auto-message-config.json': ['auto_message_config'],
      'post-publish.json': ['post_publish'],
      'ping.json': ['ping'],
      'authorization-removed.json': ['authorization_removed'],
      'unknown-event.json': ['unknown_event'],
      'comment-reply-delete.json': ['comment_action'],
    };
    for (const name of FIXTURE_NAMES) {
      const result = parseFixture(name);
      expect(result.skipped.map((s) => s.reason), name).toEqual(expectedSkips[name] ?? []);
      expect(result.events.length + result.skipped.length, name).toBeGreaterThan(0);
      expect(result.businessId, name).toBe(BUSINESS);
      expect(fixture(name).client_key, name).toBe(APP_ID);
    }
  });

  it('never gives the agent an empty message', () => {
    for (const name of FIXTURE_NAMES) {
      for (const e of parseFixture(name).events) {
        if (e.kind === 'message') expect(Boolean(e.text) || e.attachment !== undefined, name).toBe(true);
      }
    }
  });

  it('has fixtures that verify as signed bodies', () => {
    for (const name of FIXTURE_NAMES) {
      const body = readFileSync(new URL(name, FIXTURES));
      const t = fixture(name).create_time + 1;
      expect(verifyTikTokSignature(body, signTikTokBody(body, 'app-secret', t), 'app-secret', { now: t * 1000, toleranceSec: 300 }).ok, name).toBe(true);
    }
  });
});

describe('parseTikTokWebhook: properties', () => {
  /** What every result must look like, whatever came in. */
  function expectWellFormed(result: TikTokParseResult): void {
    expect(Array.isArray(result.events) && Array.isArray(result.skipped)).toBe(true);
    for (const s of result.skipped) expect(s.reason).toMatch(/^[a-z_]+$/);
    for (const e of result.events as InboundEvent[]) {
      expect(e.channel).toBe('tiktok');
      expect(e.dedupeKey.startsWith(`tiktok:${e.accountId}:`)).toBe(true);
      expect(e.accountId).toBe(result.businessId);
      expect(e.customerId).not.toBe('');
      expect(Number.isSafeInteger(e.timestamp)).toBe(true);
      if (e.kind === 'message') {
        expect(Boolean(e.text) || e.attachment !== undefined).toBe(true);
        for (const v of Object.values(e.attributes)) expect(typeof v).toBe('string');
      }
    }
    // Stored as job payloads: must survive JSON.
    expect(JSON.parse(JSON.stringify(result.events))).toEqual(result.events);
  }

  it('never throws on arbitrary JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (body) => {
        expectWellFormed(parseTikTokWebhook(body));
      }),
      { numRuns: 500 },
    );
  });

  it('never throws on known events with arbitrary content strings', () => {
    const events = fc.constantFrom(
      'im_receive_msg', 'im_receive_msg_eu', 'im_send_msg', 'im_mark_read_msg', 'im_referral_msg', 'comment.update',
      'brand.mention.event', 'authorization.removed', 'tiktok.ping', 'post.publish.complete', 'something.else',
    );
    const contentText = fc.oneof(
      fc.string(),
      fc.jsonValue().map((v) => JSON.stringify(v)),
      // Plausible contents with arbitrary values in every field the parser reads.
      fc
        .record({
          conversation_id: fc.jsonValue(),
          message_id: fc.jsonValue(),
          from_user: fc.oneof(fc.record({ id: fc.oneof(fc.constant(CUSTOMER), fc.constant(BUSINESS), fc.string()) }), fc.jsonValue()),
          to_user: fc.oneof(fc.record({ id: fc.oneof(fc.constant(CUSTOMER), fc.constant(BUSINESS), fc.string()) }), fc.jsonValue()),
          timestamp: fc.oneof(fc.integer(), fc.double(), fc.string(), fc.constant(null)),
          type: fc.oneof(fc.constantFrom('text', 'image', 'video', 'share_post', 'sticker', 'emoji', 'reaction', 'template'), fc.string()),
          text: fc.jsonValue(),
          image: fc.jsonValue(),
          share_post: fc.jsonValue(),
          sticker: fc.jsonValue(),
          emoji: fc.jsonValue(),
          reaction: fc.oneof(fc.array(fc.record({ operation: fc.constantFrom('ADD', 'REMOVE'), emoji: fc.jsonValue(), timestamp: fc.jsonValue() })), fc.jsonValue()),
          template: fc.jsonValue(),
          reply_source_payload: fc.jsonValue(),
          read: fc.jsonValue(),
          referral: fc.jsonValue(),
          comment_id: fc.oneof(fc.bigInt({ min: 0n, max: 10n ** 20n }), fc.jsonValue()),
          video_id: fc.oneof(fc.bigInt({ min: 0n, max: 10n ** 20n }), fc.jsonValue()),
          comment_action: fc.oneof(fc.constantFrom('insert', 'delete'), fc.jsonValue()),
          unique_identifier: fc.jsonValue(),
          type_of_event: fc.jsonValue(),
        }, { requiredKeys: [] })
        .map((c) => JSON.stringify(c, (_k, v: unknown) => (typeof v === 'bigint' ? `@@${v}@@` : v)).replace(/"@@(\d+)@@"/g, '$1')),
    );
    fc.assert(
      fc.property(events, contentText, fc.option(fc.integer(), { nil: undefined }), (event, text, createTime) => {
        expectWellFormed(parseTikTokWebhook({ client_key: APP_ID, event, create_time: createTime, user_openid: BUSINESS, content: text }));
      }),
      { numRuns: 1000 },
    );
  });

  it('never throws on fixtures with one value replaced or removed anywhere, in the envelope or the content', () => {
    const envelopes = FIXTURE_NAMES.map((name) => fixture(name));
    // The contents as documents of their own, so that mutations reach inside them too.
    const contents = FIXTURE_NAMES.map((name) => ({ ...fixture(name), content: content(name) }));
    fc.assert(
      fc.property(mutatedDocument([...envelopes, ...contents]), (mutated: any) => {
        const body = typeof mutated?.content === 'object' && mutated.content !== null ? { ...mutated, content: JSON.stringify(mutated.content) } : mutated;
        expectWellFormed(parseTikTokWebhook(body));
      }),
      { numRuns: 2000 },
    );
  });
});
