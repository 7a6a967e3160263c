/**
 * Plays the TikTok customer in the sandbox and tests: webhooks built exactly as TikTok delivers them (`content` a
 * JSON string), signed with the sandbox app secret. The well-known values protect nothing: everything is local.
 */
import { randomBytes } from 'node:crypto';
import type { SandboxWebhook } from '../../../core/channel.js';
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

/** What was posted and what the bridge answered. */
export interface PostedTikTokEvent {
  status: number;
  body: string;
  webhook: SandboxWebhook;
}

/**
 * Posts a signed TikTok webhook (`content` is sent as a JSON string, as TikTok does). `at` is when, on the sandbox
 * clock: the signature's `t` is checked against the bridge's clock (tiktok-messaging.md key fact 20).
 */
export async function postTikTokEvent(bridgeUrl: string, event: string, content: unknown, at: number = Date.now()): Promise<PostedTikTokEvent> {
  const seconds = Math.floor(at / 1000);
  const raw = JSON.stringify({ client_key: TIKTOK_SANDBOX.appId, event, create_time: seconds, user_openid: TIKTOK_SANDBOX.businessId, content: JSON.stringify(content) });
  const path = '/webhooks/tiktok';
  const headers = { 'content-type': 'application/json', 'tiktok-signature': signTikTokBody(raw, TIKTOK_SANDBOX.appSecret, seconds) };
  const res = await fetch(`${bridgeUrl}${path}`, { method: 'POST', headers, body: raw, signal: AbortSignal.timeout(10_000) });
  const answer = await res.text();
  return { status: res.status, body: answer, webhook: { at: Date.now(), path, headers, body: raw, status: res.status, answer } };
}

/** What every message the sandbox customer writes carries. */
function fromCustomer(messageId: string, at: number) {
  const { customer, businessId, conversationId } = TIKTOK_SANDBOX;
  return {
    from: customer.username,
    to: 'acme_store',
    unique_identifier: customer.id,
    from_user: { id: customer.id, role: 'personal_account' },
    to_user: { id: businessId, role: 'business_account' },
    conversation_id: conversationId,
    message_id: messageId,
    timestamp: at,
    message_tag: { source: 'APP' },
  };
}

/** The sandbox TikTok customer writes a DM: a text, or an image the fake serves by its `mediaId` (key fact 25). */
export async function sendSandboxTikTokDm(
  bridgeUrl: string,
  text: string,
  opts: { at?: number; imageMediaId?: string } = {},
): Promise<PostedTikTokEvent & { messageId: string }> {
  const messageId = fakeTikTokMessageId();
  const at = opts.at ?? Date.now();
  const body = opts.imageMediaId ? { type: 'image', image: { media_id: opts.imageMediaId } } : { type: 'text', text: { body: text } };
  const sent = await postTikTokEvent(bridgeUrl, 'im_receive_msg', { ...fromCustomer(messageId, at), ...body }, at);
  return { ...sent, messageId };
}

/** The sandbox TikTok customer reacts to one of the business's messages (§5: `reaction` is a list of operations). */
export async function sendSandboxTikTokReaction(bridgeUrl: string, originalMessageId: string, emoji: string, at: number = Date.now()): Promise<PostedTikTokEvent> {
  const reaction = [{ operation: 'ADD', type: 'EMOJI', emoji, unique_identifier: TIKTOK_SANDBOX.customer.id, timestamp: at, original_msg_id: originalMessageId }];
  return postTikTokEvent(bridgeUrl, 'im_receive_msg', { ...fromCustomer(fakeTikTokMessageId(), at), type: 'reaction', reaction }, at);
}

/** The sandbox TikTok customer mentions the brand in a video. */
export async function sendSandboxTikTokMention(bridgeUrl: string, at: number = Date.now()): Promise<PostedTikTokEvent & { videoId: string }> {
  const videoId = `76${String(at).padStart(17, '0')}`;
  const sent = await postTikTokEvent(
    bridgeUrl,
    'brand.mention.event',
    {
      type_of_event: 'CREATE',
      mention_type: 'VIDEO_MENTION',
      video_id: videoId,
      video_create_time: Math.floor(at / 1000),
      open_id_of_mentioned_user: TIKTOK_SANDBOX.businessId,
      unique_name_of_mentioned_user: 'acme_store',
      unique_identifier: TIKTOK_SANDBOX.customer.id,
      share_url: `https://www.tiktok.com/@${TIKTOK_SANDBOX.customer.username}/video/${videoId}`,
      video_caption: 'Unboxing my new mug from @acme_store ☕',
      comment_id: '0',
    },
    at,
  );
  return { ...sent, videoId };
}

/** Like TikTok, every message the business sends comes back as an `im_send_msg` webhook. */
export async function echoToBridge(bridgeUrl: string, messageId: string, body: unknown, at: number = Date.now()): Promise<PostedTikTokEvent | undefined> {
  const sent = body as { recipient: string; message_type?: string; text?: { body?: string }; image?: { media_id?: string } };
  const { businessId, customer } = TIKTOK_SANDBOX;
  const content = sent.message_type === 'IMAGE' ? { type: 'image', image: { media_id: sent.image?.media_id ?? '' } } : { type: 'text', text: { body: sent.text?.body ?? '' } };
  return postTikTokEvent(
    bridgeUrl,
    'im_send_msg',
    {
      from: 'acme_store',
      to: customer.username,
      unique_identifier: businessId,
      from_user: { id: businessId, role: 'business_account' },
      to_user: { id: customer.id, role: 'personal_account' },
      conversation_id: sent.recipient,
      message_id: messageId,
      timestamp: at,
      ...content,
      message_tag: { source: 'API' },
    },
    at,
  ).catch(() => undefined);
}
