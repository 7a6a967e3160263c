/**
 * Plays the customer: builds an Instagram DM webhook exactly as Meta would deliver it, signs it with the
 * sandbox app secret and posts it to the bridge.
 */
import { randomBytes } from 'node:crypto';
import { signMetaBody } from '../channels/instagram/verify.js';
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
