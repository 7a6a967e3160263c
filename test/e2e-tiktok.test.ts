/**
 * TikTok end to end over real HTTP: signed TikTok webhooks into the bridge, Genesys messages out; agent
 * replies from the fake Genesys out through the fake TikTok Business API; receipts back.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signTikTokBody } from '../src/channels/tiktok/verify.js';
import type { FakeTikTok } from '../src/channels/tiktok/sandbox/fake-tiktok.js';
import type { RunningServer } from '../src/entry/server.js';
import type { FakeGenesys, outboundWebhookBody } from '../src/sandbox/fake-genesys/index.js';
import { eventually } from './helpers.js';
import { TT, startTikTokBridge, type TikTokBridge } from './tiktok-bridge.js';

const HOUR = 3600_000;
const FIXTURES = join(import.meta.dirname, 'fixtures', 'tiktok');

let tb: TikTokBridge;
let genesys: FakeGenesys;
let tiktok: FakeTikTok;
let bridge: RunningServer;

beforeAll(async () => {
  tb = await startTikTokBridge();
  ({ genesys, tiktok, bridge } = tb);
});
afterAll(() => tb?.close());

let seq = 0;
/** A TikTok DM from a customer, as TikTok would deliver it; returns the ids it used. */
function dmContent(opts: { text?: string; type?: string; extra?: Record<string, unknown>; at?: number } = {}) {
  seq++;
  const customer = `+Cust${seq}Q`;
  const conversationId = `c${seq}Jh+pse/AhoPOlnH0tZ9y==`;
  const messageId = `m${seq}Bu+qc6lAghuOel==`;
  const content = {
    from: `customer.${seq}`,
    to: 'acme_store',
    unique_identifier: customer,
    from_user: { id: customer, role: 'personal_account' },
    to_user: { id: TT.businessId, role: 'business_account' },
    conversation_id: conversationId,
    message_id: messageId,
    timestamp: opts.at ?? Date.now(),
    type: opts.type ?? 'text',
    ...(opts.type && opts.type !== 'text' ? {} : { text: { body: opts.text ?? 'Is this in stock?' } }),
    message_tag: { source: 'APP' },
    ...opts.extra,
  };
  return { customer, conversationId, messageId, content };
}

/** A signed delivery of `content` as `event`, or of the exact bytes `raw` (a fixture). */
async function deliver(event: string, content: unknown, opts: { t?: number; raw?: string } = {}): Promise<Response> {
  const raw = opts.raw ?? JSON.stringify({ client_key: TT.appId, event, create_time: Math.floor(Date.now() / 1000), user_openid: TT.businessId, content: JSON.stringify(content) });
  const t = opts.t ?? Math.floor(Date.now() / 1000);
  return fetch(`${bridge.url}/webhooks/tiktok`, { method: 'POST', headers: { 'content-type': 'application/json', 'tiktok-signature': signTikTokBody(raw, TT.appSecret, t) }, body: raw });
}

const genesysFor = (customer: string) => tb.genesysFor(customer);

async function customerWrites(opts: Parameters<typeof dmContent>[0] = {}) {
  const dm = dmContent(opts);
  tiktok.addConversation(dm.conversationId);
  expect((await deliver('im_receive_msg', dm.content)).status).toBe(200);
  expect(await eventually(() => genesysFor(dm.customer).some((m) => m.channel.messageId === dm.messageId))).toBe(true);
  return dm;
}

const agentReplies = (customer: string, text: string, extra: Partial<Parameters<typeof outboundWebhookBody>[0]> = {}) => tb.agentReplies(customer, { text, ...extra });
const receiptFor = (id: string) => tb.receiptFor(id);
const sendsTo = (conversationId: string) => tiktok.sends.map((s) => s.body as Record<string, any>).filter((b) => b.recipient === conversationId);

describe('a TikTok conversation', () => {
  it('DM in, agent reply out to the conversation, Delivered receipt back', async () => {
    const dm = await customerWrites({ text: 'Is the blue mug in stock?' });
    const [msg] = genesysFor(dm.customer);
    expect(msg!.text).toBe('Is the blue mug in stock?');
    expect(msg!.channel.from.nickname).toBe(`customer.${seq}`);
    expect(msg!.channel.metadata.customAttributes).toMatchObject({ 'dmbridge.channel': 'tiktok', 'dmbridge.source': 'TikTok DM', 'dmbridge.account': TT.businessId });

    const id = await agentReplies(dm.customer, 'Yes, it ships today.');
    expect((await receiptFor(id)).status).toBe('Delivered');
    expect(sendsTo(dm.conversationId)).toEqual([
      { business_id: TT.businessId, recipient_type: 'CONVERSATION', recipient: dm.conversationId, message_type: 'TEXT', text: { body: 'Yes, it ships today.' } },
    ]);
    expect(tiktok.sends.at(-1)!.accessToken).toBe(tiktok.currentTokens().accessToken);
  });

  it("hands Genesys a bridge URL for a customer's image, which streams the bytes from TikTok", async () => {
    const dm = await customerWrites({ type: 'image', extra: { image: { media_id: 'v10044g50000img1' } } });
    const attachment = genesysFor(dm.customer)[0]!.content![0]!.attachment;
    expect(attachment.mediaType).toBe('Image');
    expect(attachment.url.startsWith(`${bridge.url}/media/`)).toBe(true);
    const res = await fetch(attachment.url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^image\//);
    expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(0);
    const forged = attachment.url.slice(0, -3) + (attachment.url.endsWith('AAA') ? 'BBB' : 'AAA');
    expect((await fetch(forged)).status).toBe(403);
  });

  it('refreshes an access token that expired mid-conversation, keeps the rotated refresh token, and delivers', async () => {
    const dm = await customerWrites();
    const before = tiktok.currentTokens();
    tiktok.expireAccessToken();
    const id = await agentReplies(dm.customer, 'Still here!');
    expect((await receiptFor(id)).status).toBe('Delivered');
    const after = tiktok.currentTokens();
    expect(after.refreshToken).not.toBe(before.refreshToken);
    const stored = await bridge.bridge.store.getRecord<{ refreshToken: string }>('tiktok-token', TT.connectionId);
    expect(stored?.refreshToken).toBe(after.refreshToken);
  });

  it('drops the echo of our own send even when it arrives before the send call returns', async () => {
    const dm = await customerWrites();
    tiktok.onMessageSent(async ({ messageId, body }) => {
      const echo = {
        ...dmContent().content,
        from: 'acme_store',
        to: `customer.${seq}`,
        unique_identifier: TT.businessId,
        from_user: { id: TT.businessId, role: 'business_account' },
        to_user: { id: dm.customer, role: 'personal_account' },
        conversation_id: dm.conversationId,
        message_id: messageId,
        text: (body as { text: { body: string } }).text,
        message_tag: { source: 'API' },
      };
      expect((await deliver('im_send_msg', echo)).status).toBe(200);
    });
    try {
      const id = await agentReplies(dm.customer, 'Echo me');
      expect((await receiptFor(id)).status).toBe('Delivered');
      await new Promise((r) => setTimeout(r, 300));
      expect(genesysFor(dm.customer)).toHaveLength(1);
      expect(sendsTo(dm.conversationId)).toHaveLength(1);
    } finally {
      tiktok.onMessageSent(undefined);
    }
  });
});

describe("TikTok's rules", () => {
  it('allows 3 replies once the customer has been silent for 48 hours, then refuses without calling TikTok', async () => {
    const dm = dmContent({ at: Date.now() - 50 * HOUR });
    tiktok.addConversation(dm.conversationId);
    expect((await deliver('im_receive_msg', dm.content)).status).toBe(200);
    expect(await eventually(() => genesysFor(dm.customer).length === 1)).toBe(true);
    for (const n of [1, 2, 3]) expect((await receiptFor(await agentReplies(dm.customer, `Reply ${n}`))).status).toBe('Delivered');
    const refused = await receiptFor(await agentReplies(dm.customer, 'Reply 4'));
    expect(refused.status).toBe('Failed');
    expect(refused.reasons![0]!.code).toBe('MessageExpired');
    expect(refused.reasons![0]!.message).toMatch(/48 hours/);
    expect(sendsTo(dm.conversationId)).toHaveLength(3);
  });

  it("reports TikTok's DM-rule block (40064) as a Failed receipt explaining the rules", async () => {
    const dm = await customerWrites();
    tiktok.failNext(1, 40064, 'Message sending is blocked by direct message rules');
    const receipt = await receiptFor(await agentReplies(dm.customer, 'Blocked'));
    expect(receipt.status).toBe('Failed');
    expect(receipt.reasons![0]!.code).toBe('MessageExpired');
    expect(receipt.reasons![0]!.message).toMatch(/40064/);
  });

  it('refuses a video attachment before sending anything', async () => {
    const dm = await customerWrites();
    const receipt = await receiptFor(
      await agentReplies(dm.customer, 'See the video', { attachments: [{ mediaType: 'Video', url: 'https://api-downloads.mypurecloud.com/x.mp4', mime: 'video/mp4' }] }),
    );
    expect(receipt.reasons![0]!.code).toBe('MediaTypeNotAllowed');
    expect(sendsTo(dm.conversationId)).toEqual([]);
  });
});

describe('TikTok webhooks', () => {
  it('shows a brand mention with its link, marked as not answerable by DM; a reply to it fails clearly', async () => {
    const raw = readFileSync(join(FIXTURES, 'mention.json'), 'utf8');
    expect((await deliver('', null, { raw })).status).toBe(200);
    const customer = '+ZMM6I2kQ';
    expect(await eventually(() => genesysFor(customer).some((m) => m.text?.includes('https://www.tiktok.com/@jane.doe/video/7600000000000000789')))).toBe(true);
    const mention = genesysFor(customer).find((m) => m.text?.includes('7600000000000000789'))!;
    expect(mention.channel.metadata.customAttributes['dmbridge.replyable']).toBe('false');
    const receipt = await receiptFor(await agentReplies(customer, 'Thanks for the mention!'));
    expect(receipt.status).toBe('Failed');
    expect(receipt.reasons![0]!.message).toMatch(/Reply on TikTok/);
  });

  it('keeps 19-digit comment and video ids exact', async () => {
    const raw = readFileSync(join(FIXTURES, 'comment.json'), 'utf8');
    const videoId = /"video_id\\":(\d{19})/.exec(raw)?.[1];
    expect(videoId).toBeDefined();
    expect((await deliver('', null, { raw })).status).toBe(200);
    expect(await eventually(() => genesys.messages.some((m) => JSON.stringify(m.body).includes(videoId!)))).toBe(true);
  });

  it('rejects a replayed delivery older than the tolerance (the 72-hour retry horizon) with 401, and drops a duplicate delivery', async () => {
    const dm = dmContent();
    const stale = await deliver('im_receive_msg', dm.content, { t: Math.floor(Date.now() / 1000) - 72 * 3600 - 1 });
    expect(stale.status).toBe(401);
    expect(((await stale.json()) as { error: string }).error).toBe('DMB_ERR_SIGNATURE_STALE');
    const raw = JSON.stringify({ client_key: TT.appId, event: 'im_receive_msg', create_time: 1, user_openid: TT.businessId, content: JSON.stringify(dm.content) });
    await Promise.all([deliver('', null, { raw }), deliver('', null, { raw }), deliver('', null, { raw })]);
    expect(await eventually(() => genesysFor(dm.customer).length === 1)).toBe(true);
    await new Promise((r) => setTimeout(r, 200));
    expect(genesysFor(dm.customer)).toHaveLength(1);
  });

  it('rejects a forged signature with 401', async () => {
    const raw = JSON.stringify({ client_key: TT.appId, event: 'im_receive_msg', create_time: 1, user_openid: TT.businessId, content: '{}' });
    const res = await fetch(`${bridge.url}/webhooks/tiktok`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'tiktok-signature': signTikTokBody(raw, 'not-the-secret', Math.floor(Date.now() / 1000)) },
      body: raw,
    });
    expect(res.status).toBe(401);
  });
});
