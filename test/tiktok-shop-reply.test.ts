import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TikTokShopModule } from '../src/channels/tiktok-shop/index.js';
import { tiktokShopConnectionSchema, type TikTokShopConnection } from '../src/channels/tiktok-shop/config.js';
import { startFakeTikTokShop, type FakeTikTokShop } from '../src/channels/tiktok-shop/sandbox/fake-tiktok-shop.js';
import type { ChannelReplier } from '../src/core/channel.js';
import type { OutboundMessageCommand } from '../src/core/commands.js';
import type { ConversationState } from '../src/core/conversation.js';
import { PermanentError, RetryableError } from '../src/core/errors.js';
import { createMetrics } from '../src/metrics.js';
import { startFakeGenesys, type FakeGenesys } from '../src/sandbox/fake-genesys/index.js';
import { openSqliteStore } from '../src/store/sqlite/index.js';
import { TEST, capturedLogger, testMedia } from './helpers.js';

const APP = { appKey: '68abcdefgh1ij', appSecret: 'tts-app-secret-for-tests' };
const SHOP = '7494049642642441621';
const CONVERSATION = '7494560109732334262';
const BUYER = { imUserId: '7494560109732330001', userId: '7494560109732334001', nickname: 'Jane Doe' };
const H = 60 * 60 * 1000;
const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4]);

let fake: FakeTikTokShop;
let store: ReturnType<typeof openSqliteStore>;
let genesys: FakeGenesys;
let files: { png: string; pdf: string; huge: string };

beforeEach(async () => {
  fake = await startFakeTikTokShop({ ...APP, shopId: SHOP, shopCipher: 'ROW_c', accessToken: 'TTP_a', refreshToken: 'TTP_r', conversations: [{ id: CONVERSATION, buyer: BUYER }] });
  store = openSqliteStore(':memory:');
  // Genesys attachment downloads: a PNG, a PDF, and an image larger than 10 MB sent without Content-Length.
  genesys = await startFakeGenesys({ clientId: TEST.genesysClientId, clientSecret: TEST.genesysClientSecret, integrationIds: [] });
  files = {
    png: genesys.hostAttachment({ bytes: PNG, mime: 'image/png', filename: 'a.png' }),
    pdf: genesys.hostAttachment({ bytes: new TextEncoder().encode('%PDF-1.4'), mime: 'image/png', filename: 'doc.png' }),
    huge: genesys.hostAttachment({ bytes: new Uint8Array(10 * 1024 * 1024 + 1).fill(0xff), mime: 'image/jpeg', filename: 'huge.jpg', chunked: true }),
  };
});
afterEach(async () => {
  await fake.close();
  await store.close();
  await genesys.close();
});

function connection(over: Partial<TikTokShopConnection> = {}): TikTokShopConnection {
  return tiktokShopConnectionSchema.parse({
    id: 'acme-shop', channel: 'tiktok-shop', shopId: SHOP, ...APP, accessToken: 'TTP_a', refreshToken: 'TTP_r',
    apiBaseUrl: fake.url, authBaseUrl: fake.url, genesys: { integrationId: 'i', webhookSecret: 'genesys-secret-0123456789' }, ...over,
  });
}

function replier(over: Partial<TikTokShopConnection> = {}, logger = capturedLogger('silent').logger): ChannelReplier {
  return TikTokShopModule.connect(connection(over), { store, clock: Date.now, metrics: createMetrics(), logger, ...testMedia({ genesys, origins: [fake.url] }) }).replier;
}

function command(over: Partial<OutboundMessageCommand> = {}): OutboundMessageCommand {
  return { kind: 'message', genesysMessageId: 'g-1', integrationId: 'i', customerId: CONVERSATION, timestamp: Date.now(), originatingEntity: 'Human', attachments: [], ...over };
}

/** What the reply job does: decide, build, send each step. */
async function deliver(r: ChannelReplier, cmd: OutboundMessageCommand, conversation: ConversationState) {
  const verdict = r.decide(cmd, conversation, Date.now());
  if (!verdict.send) throw new PermanentError(verdict.sentence, { reason: verdict.reason });
  const results = [];
  for (const request of r.build(cmd, verdict, conversation)) results.push(await r.send(request, conversation));
  return results;
}

const open: ConversationState = { lastInboundAt: Date.now() - H, customerMessages: 1, repliesSinceCustomer: 0, threadId: CONVERSATION };

describe('the TikTok Shop replier', () => {
  it('marks the buyer messages read, then sends the text to the conversation and returns its message id', async () => {
    const results = await deliver(replier(), command({ text: 'Your parcel ships today.' }), open);
    expect(fake.reads).toEqual([CONVERSATION]);
    expect(fake.sends.map((s) => s.body)).toEqual([{ type: 'TEXT', content: '{"content":"Your parcel ships today."}' }]);
    expect(results).toEqual([{ messageId: fake.sends[0]!.messageId }]);
    expect(replier().pauseKey).toBe(`tiktok-shop:${SHOP}`);
  });

  it('sends a long text as several messages of at most 2,000 characters, marking read only once', async () => {
    await deliver(replier(), command({ text: 'word '.repeat(900) }), open);
    expect(fake.sends).toHaveLength(3);
    expect(fake.reads).toHaveLength(1);
  });

  it('uploads an agent image from Genesys and sends the uploaded URL as IMAGE', async () => {
    await deliver(replier(), command({ attachments: [{ mediaType: 'Image', url: files.png, mime: 'image/png', filename: 'a.png' }] }), open);
    expect(fake.uploads).toEqual([expect.objectContaining({ bytes: PNG.length, mime: 'image/png', filename: 'a.png' })]);
    expect(JSON.parse(fake.sends[0]!.body.content)).toEqual({ url: fake.uploads[0]!.url, width: 1280, height: 720 });
  });

  it('refuses a file that is not an image and an image over 10 MB, without uploading', async () => {
    const pdf = await deliver(replier(), command({ attachments: [{ mediaType: 'Image', url: files.pdf }] }), open).catch((e: unknown) => e);
    expect(pdf).toMatchObject({ reason: 'MediaTypeNotAllowed' });
    const huge = await deliver(replier(), command({ attachments: [{ mediaType: 'Image', url: files.huge }] }), open).catch((e: unknown) => e);
    expect(huge).toMatchObject({ reason: 'InvalidMediaContentLength', message: expect.stringMatching(/up to 10 MB/) });
    expect(fake.uploads).toEqual([]);
  });

  it('reopens a conversation it believes closed (Create Conversation), then sends', async () => {
    fake.closeConversation(CONVERSATION);
    const closed = { ...open, lastInboundAt: Date.now() - 7 * H, repliesSinceCustomer: 1 };
    await deliver(replier(), command({ text: 'Following up on your order.' }), closed);
    expect(fake.creates).toEqual([BUYER.userId]);
    expect(fake.sends).toHaveLength(1);
  });

  it('refuses before any call when reopening is switched off', async () => {
    const closed = { ...open, lastInboundAt: Date.now() - 7 * H, repliesSinceCustomer: 1 };
    await expect(deliver(replier({ reopenClosedConversations: false }), command({ text: 'hi' }), closed)).rejects.toMatchObject({ reason: 'MessageExpired' });
    expect(fake.traffic).toEqual([]);
  });

  it('reports a conversation TikTok closed earlier than the bridge thought as MessageExpired', async () => {
    fake.closeConversation(CONVERSATION);
    const error = await deliver(replier(), command({ text: 'hi' }), open).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentError);
    expect((error as PermanentError).reason).toBe('MessageExpired');
  });

  it('still sends when Mark Read fails', async () => {
    fake.failNext(1, 36009003, { on: 'read' });
    const log = capturedLogger('warn');
    await deliver(replier({}, log.logger), command({ text: 'hi' }), open);
    expect(fake.sends).toHaveLength(1);
    expect(log.text()).toContain('tiktok_shop.mark_read_failed');
  });

  it('throttling pauses the whole shop under the replier pause key', async () => {
    fake.failNext(1, 36009002, { httpStatus: 429 });
    const r = replier();
    const error = await deliver(r, command({ text: 'hi' }), open).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetryableError);
    expect((error as RetryableError).pauseKey).toBe(r.pauseKey);
  });

  it('has no typing indicator to send', async () => {
    await replier().sendTyping(CONVERSATION, open);
    expect(fake.traffic).toEqual([]);
  });
});
