/**
 * Plays the Instagram customer in the sandbox, tests and benchmarks: webhooks built exactly as Meta delivers
 * them, signed with the sandbox app secret. The sandbox's well-known values protect nothing: everything listens
 * on 127.0.0.1.
 */
import { randomBytes } from 'node:crypto';
import type { SandboxWebhook } from '../../../core/channel.js';
import { signMetaBody } from '../verify.js';

export const INSTAGRAM_SANDBOX = {
  connectionId: 'sandbox-instagram',
  integrationId: '5a1dbe00-0000-4000-8000-00000000a001',
  genesysWebhookSecret: 'sandbox-genesys-webhook-secret',
  accountId: '17841400000000042',
  appSecret: 'sandbox-meta-app-secret',
  verifyToken: 'sandbox-verify-token',
  accessToken: 'sandbox-instagram-token',
  /** The customer who writes in the demo. */
  customer: { igsid: '9900112233445566', name: 'Jane Doe', username: 'jane.doe' },
} as const;

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

export function instagramDmWebhook(dm: SandboxDm & { mid: string; timestamp: number }, accountId: string = INSTAGRAM_SANDBOX.accountId) {
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
          { sender: { id: dm.from ?? INSTAGRAM_SANDBOX.customer.igsid }, recipient: { id: accountId }, timestamp: dm.timestamp, message },
        ],
      },
    ],
  };
}

/** A story mention (a Meta CDN link to the story; the bridge must not keep story media) or a reaction to a message. */
export function instagramCustomerEventWebhook(
  event: { kind: 'story_mention'; mid: string; storyUrl: string } | { kind: 'reaction'; mid: string; emoji: string },
  timestamp: number,
) {
  const { accountId, customer } = INSTAGRAM_SANDBOX;
  // https://developers.facebook.com/docs/instagram-platform/webhooks (messages with a story_mention attachment;
  // message_reactions with the reacted message's mid).
  const item =
    event.kind === 'story_mention'
      ? { message: { mid: event.mid, attachments: [{ type: 'story_mention', payload: { url: event.storyUrl } }] } }
      : { reaction: { mid: event.mid, action: 'react', reaction: event.emoji === '❤️' ? 'love' : 'other', emoji: event.emoji } };
  return {
    object: 'instagram',
    entry: [{ id: accountId, time: timestamp, messaging: [{ sender: { id: customer.igsid }, recipient: { id: accountId }, timestamp, ...item }] }],
  };
}

/** What was posted and what the bridge answered. */
export interface PostedWebhook {
  status: number;
  body: string;
  webhook: SandboxWebhook;
}

/** Posts a signed Instagram webhook body to the bridge. */
export async function postInstagramWebhook(bridgeUrl: string, body: unknown): Promise<PostedWebhook> {
  const raw = JSON.stringify(body);
  const at = Date.now();
  const path = '/webhooks/instagram';
  const headers = { 'content-type': 'application/json', 'x-hub-signature-256': signMetaBody(raw, INSTAGRAM_SANDBOX.appSecret) };
  const res = await fetch(`${bridgeUrl}${path}`, { method: 'POST', headers, body: raw, signal: AbortSignal.timeout(10_000) });
  const answer = await res.text();
  return { status: res.status, body: answer, webhook: { at, path, headers, body: raw, status: res.status, answer } };
}

export async function sendSandboxDm(bridgeUrl: string, dm: SandboxDm): Promise<PostedWebhook & { mid: string }> {
  const mid = dm.mid ?? fakeMid();
  const timestamp = dm.timestamp ?? Date.now();
  const sent = await postInstagramWebhook(bridgeUrl, instagramDmWebhook({ ...dm, mid, timestamp }));
  return { ...sent, mid };
}

/** What Meta sends back for every message the account sent: the echo webhook (`is_echo`). */
export function echoWebhook(messageId: string, sent: { recipient: { id: string }; message?: { text?: string } }, now = Date.now()) {
  const { accountId } = INSTAGRAM_SANDBOX;
  return {
    object: 'instagram',
    entry: [
      {
        id: accountId,
        time: now,
        messaging: [
          {
            sender: { id: accountId },
            recipient: { id: sent.recipient.id },
            timestamp: now,
            message: { mid: messageId, is_echo: true, ...(sent.message?.text ? { text: sent.message.text } : {}) },
          },
        ],
      },
    ],
  };
}
