/**
 * Plays the TikTok customer in the sandbox and tests: webhooks built exactly as TikTok delivers them (`content` a
 * JSON string), signed with the sandbox app secret. The well-known values protect nothing: everything is local.
 */
import { randomBytes } from 'node:crypto';
import { signTikTokBody } from '../verify.js';

export const TIKTOK_SANDBOX = {
  connectionId: 'sandbox-tiktok',
  integrationId: '5a1dbe00-0000-4000-8000-00000000a002',
  genesysWebhookSecret: 'sandbox-genesys-tiktok-webhook-secret',
  businessId: '-000aBcD1234',
  appId: '7600000000000000042',
  appSecret: 'sandbox-tiktok-app-secret',
  accessToken: 'act.sandbox-access-token',
  refreshToken: 'rft.sandbox-refresh-token',
  customer: { id: '+ZMM6I2kQ', username: 'jane.doe' },
  conversationId: 'u5Jh+pse/AhoPOlnH0tZ9y==',
} as const;

/** A TikTok-style message id. */
export function fakeTikTokMessageId(): string {
  return `${randomBytes(12).toString('base64')}==`;
}

/** Posts a signed TikTok webhook (`content` is sent as a JSON string, as TikTok does). */
export async function postTikTokEvent(bridgeUrl: string, event: string, content: unknown): Promise<{ status: number; body: string }> {
  const raw = JSON.stringify({
    client_key: TIKTOK_SANDBOX.appId,
    event,
    create_time: Math.floor(Date.now() / 1000),
    user_openid: TIKTOK_SANDBOX.businessId,
    content: JSON.stringify(content),
  });
  const res = await fetch(`${bridgeUrl}/webhooks/tiktok`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'tiktok-signature': signTikTokBody(raw, TIKTOK_SANDBOX.appSecret, Math.floor(Date.now() / 1000)) },
    body: raw,
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, body: await res.text() };
}

/** The sandbox TikTok customer writes a DM. */
export async function sendSandboxTikTokDm(bridgeUrl: string, text: string): Promise<{ status: number; messageId: string; body: string }> {
  const { customer, businessId, conversationId } = TIKTOK_SANDBOX;
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
    open_id_of_mentioned_user: TIKTOK_SANDBOX.businessId,
    unique_name_of_mentioned_user: 'acme_store',
    unique_identifier: TIKTOK_SANDBOX.customer.id,
    share_url: `https://www.tiktok.com/@${TIKTOK_SANDBOX.customer.username}/video/${videoId}`,
    video_caption: 'Unboxing my new mug from @acme_store ☕',
    comment_id: '0',
  });
  return { ...sent, videoId };
}

/** Like TikTok, every message the business sends comes back as an `im_send_msg` webhook. */
export async function echoToBridge(bridgeUrl: string, messageId: string, body: unknown): Promise<void> {
  const sent = body as { recipient: string; text?: { body?: string } };
  const { businessId, customer } = TIKTOK_SANDBOX;
  await postTikTokEvent(bridgeUrl, 'im_send_msg', {
    from: 'acme_store',
    to: customer.username,
    unique_identifier: businessId,
    from_user: { id: businessId, role: 'business_account' },
    to_user: { id: customer.id, role: 'personal_account' },
    conversation_id: sent.recipient,
    message_id: messageId,
    timestamp: Date.now(),
    type: 'text',
    text: { body: sent.text?.body ?? '' },
    message_tag: { source: 'API' },
  }).catch(() => undefined);
}
