/**
 * Plays the customer: builds Instagram and TikTok webhooks exactly as Meta and TikTok would deliver them,
 * signs them with the sandbox app secrets and posts them to the bridge.
 */
import { randomBytes } from 'node:crypto';
import { signMetaBody } from '../channels/instagram/verify.js';
import { signTikTokBody } from '../channels/tiktok/verify.js';
import { SANDBOX } from './config.js';

export interface SandboxDm {
  text?: string;
  imageUrl?: string;
  /** Customer IGSID; defaults to the sandbox customer. */
  from?: string;
  mid?: string;
  timestamp?: number;
}

/** A Meta-style message id: opaque base64url text, unique per message. */
export function fakeMid(): string {
  return `aWdfZAG1faXRlbToxOklH${randomBytes(24).toString('base64url')}`;
}

export function instagramDmWebhook(dm: SandboxDm & { mid: string; timestamp: number }, accountId: string = SANDBOX.instagramAccountId) {
  const message: Record<string, unknown> = { mid: dm.mid };
  if (dm.text !== undefined) message.text = dm.text;
  if (dm.imageUrl) message.attachments = [{ type: 'image', payload: { url: dm.imageUrl } }];
  return {
    object: 'instagram',
    entry: [
      {
        id: accountId,
        time: dm.timestamp,
        messaging: [
          { sender: { id: dm.from ?? SANDBOX.customer.igsid }, recipient: { id: accountId }, timestamp: dm.timestamp, message },
        ],
      },
    ],
  };
}

export async function sendSandboxDm(bridgeUrl: string, dm: SandboxDm): Promise<{ status: number; mid: string; body: string }> {
  const mid = dm.mid ?? fakeMid();
  const raw = JSON.stringify(instagramDmWebhook({ ...dm, mid, timestamp: dm.timestamp ?? Date.now() }));
  const res = await fetch(`${bridgeUrl}/webhooks/instagram`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-hub-signature-256': signMetaBody(raw, SANDBOX.metaAppSecret) },
    body: raw,
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, mid, body: await res.text() };
}

/** A TikTok-style message id. */
export function fakeTikTokMessageId(): string {
  return `${randomBytes(12).toString('base64')}==`;
}

/** Posts a signed TikTok webhook (`content` is sent as a JSON string, as TikTok does). */
export async function postTikTokEvent(bridgeUrl: string, event: string, content: unknown): Promise<{ status: number; body: string }> {
  const raw = JSON.stringify({
    client_key: SANDBOX.tiktok.appId,
    event,
    create_time: Math.floor(Date.now() / 1000),
    user_openid: SANDBOX.tiktok.businessId,
    content: JSON.stringify(content),
  });
  const res = await fetch(`${bridgeUrl}/webhooks/tiktok`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'tiktok-signature': signTikTokBody(raw, SANDBOX.tiktok.appSecret, Math.floor(Date.now() / 1000)) },
    body: raw,
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, body: await res.text() };
}

/** The sandbox TikTok customer writes a DM. */
export async function sendSandboxTikTokDm(bridgeUrl: string, text: string): Promise<{ status: number; messageId: string; body: string }> {
  const { customer, businessId, conversationId } = SANDBOX.tiktok;
  const messageId = fakeTikTokMessageId();
  const sent = await postTikTokEvent(bridgeUrl, 'im_receive_msg', {
    from: customer.username,
    to: 'acme_store',
    unique_identifier: customer.id,
    from_user: { id: customer.id, role: 'personal_account' },
    to_user: { id: businessId, role: 'business_account' },
    conversation_id: conversationId,
    message_id: messageId,
    timestamp: Date.now(),
    type: 'text',
    text: { body: text },
    message_tag: { source: 'APP' },
  });
  return { ...sent, messageId };
}

/** The sandbox TikTok customer mentions the brand in a video. */
export async function sendSandboxTikTokMention(bridgeUrl: string): Promise<{ status: number; videoId: string; body: string }> {
  const videoId = `76${String(Date.now()).padStart(17, '0')}`;
  const sent = await postTikTokEvent(bridgeUrl, 'brand.mention.event', {
    type_of_event: 'CREATE',
    mention_type: 'VIDEO_MENTION',
    video_id: videoId,
    video_create_time: Math.floor(Date.now() / 1000),
    open_id_of_mentioned_user: SANDBOX.tiktok.businessId,
    unique_name_of_mentioned_user: 'acme_store',
    unique_identifier: SANDBOX.tiktok.customer.id,
    share_url: `https://www.tiktok.com/@${SANDBOX.tiktok.customer.username}/video/${videoId}`,
    video_caption: 'Unboxing my new mug from @acme_store ☕',
    comment_id: '0',
  });
  return { ...sent, videoId };
}
