/**
 * The fake plays the agent: `outboundWebhookBody` builds an outbound notification as Genesys webhooks it, and
 * `deliverOutbound` posts it to the bridge, signed and retried as Genesys does (genesys-open-messaging.md §3).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { signGenesysBody } from '../../genesys/webhook/verify.js';
import { httpCall, type HttpRequestInit } from '../../net/http.js';
import { sleep } from './context.js';

export interface OutboundWebhookArgs {
  integrationId: string;
  customerId: string;
  text?: string;
  /** Each becomes a `contentType: "Attachment"` item, before `content`. */
  attachments?: Array<{ mediaType: string; url: string; mime: string; filename?: string }>;
  originatingEntity?: 'Human' | 'Bot';
  /** `Text` unless said. */
  type?: 'Text' | 'Structured' | 'Event' | 'Receipt';
  /** Extra content items, sent as given (quick replies, cards …). */
  content?: unknown[];
  /** `Event` defaults to Typing On for 5 s. */
  events?: unknown[];
  /** 32 hex chars unless said. */
  id?: string;
  /** A fresh UUID unless said. */
  conversationId?: string;
}

const TYPING_ON = { eventType: 'Typing', typing: { type: 'On', duration: 5000 } };

/**
 * An outbound notification as Genesys webhooks it (genesys-open-messaging.md §3.4, key fact 21): `channel.id` and
 * `channel.from.id` are the integration, `channel.to.id` the customer, `channel.messageId` equals `id`.
 */
export function outboundWebhookBody(args: OutboundWebhookArgs): { id: string; body: Record<string, unknown> } {
  const id = args.id ?? randomBytes(16).toString('hex');
  const type = args.type ?? 'Text';
  const body: Record<string, unknown> = {
    id,
    channel: {
      id: args.integrationId,
      platform: 'Open',
      type: 'Private',
      messageId: id,
      to: { id: args.customerId, idType: 'Opaque' },
      from: { nickname: 'dmbridge-sandbox', id: args.integrationId, idType: 'Opaque' },
      time: new Date().toISOString(),
    },
    conversationId: args.conversationId ?? randomUUID(),
    type,
  };
  if (args.text !== undefined) body.text = args.text;
  const content = [...(args.attachments ?? []).map(attachmentContent), ...(args.content ?? [])];
  if (content.length > 0) body.content = content;
  const events = args.events ?? (type === 'Event' ? [TYPING_ON] : undefined);
  if (events) body.events = events;
  // OpenReceiptNormalizedMessage (Appendix A); when Genesys sends these is unconfirmed (§3.4).
  if (type === 'Receipt') Object.assign(body, { status: 'Delivered', isFinalReceipt: true });
  body.direction = 'Outbound';
  if (type === 'Text' || type === 'Structured') body.originatingEntity = args.originatingEntity ?? 'Human';
  return { id, body };
}

function attachmentContent(a: NonNullable<OutboundWebhookArgs['attachments']>[number]): Record<string, unknown> {
  const attachment = { id: randomUUID(), mediaType: a.mediaType, url: a.url, mime: a.mime, ...(a.filename ? { filename: a.filename } : {}) };
  return { contentType: 'Attachment', attachment };
}

export interface DeliverOutboundOptions {
  /** Digest encoding of the signature: base64 is documented, hex observed (§3.2). */
  encoding?: 'base64' | 'hex';
  /** Pause between attempts; Genesys waits 5 s. */
  retryDelayMs?: number;
  /** Deadline of one attempt; Genesys gives up after 10 s. */
  timeoutMs?: number;
}

/** Genesys retries up to 5 times (6 attempts, ≈ 85 s in all) on timeout, 429 and 5xx (key fact 19). */
const WEBHOOK_RETRIES = 5;

/**
 * POSTs a notification to the bridge as Genesys does: compact JSON (a string body is sent as is), signed
 * `X-Hub-Signature-256: sha256=<base64>`, retried on timeout, 429 and 5xx.
 * https://developer.genesys.cloud/commdigital/digital/openmessaging/validate
 * Resolves with the last answer; rejects when the last attempt timed out or the connection failed.
 */
export async function deliverOutbound(
  webhookUrl: string,
  body: unknown,
  secret: string,
  opts: DeliverOutboundOptions = {},
): Promise<{ status: number; text: string; attempts: number }> {
  const { encoding = 'base64', retryDelayMs = 5000, timeoutMs = 10_000 } = opts;
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  const init: HttpRequestInit = {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'X-Hub-Signature-256': signGenesysBody(raw, secret, encoding) },
    body: raw,
  };
  for (let attempt = 1; ; attempt++) {
    const last = attempt > WEBHOOK_RETRIES;
    const answer = await postOnce(webhookUrl, init, timeoutMs);
    if (answer === 'timeout') {
      if (last) throw new Error(`the webhook did not answer within ${timeoutMs} ms on the last of ${attempt} attempts`);
    } else if (last || !(answer.status === 429 || answer.status >= 500)) {
      return { ...answer, attempts: attempt };
    }
    await sleep(retryDelayMs);
  }
}

async function postOnce(url: string, init: HttpRequestInit, timeoutMs: number): Promise<{ status: number; text: string } | 'timeout'> {
  try {
    const { response, bodyText } = await httpCall(url, init, timeoutMs);
    return { status: response.status, text: bodyText };
  } catch (err) {
    if ((err as Error | null)?.name === 'TimeoutError') return 'timeout';
    throw err;
  }
}
