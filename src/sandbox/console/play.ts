/**
 * The two people of the sandbox: the customer, played through their channel's sandbox facet (a signed webhook, as
 * the platform would post it, on the sandbox clock), and the agent, whose Genesys posts a signed outbound
 * notification. Each play is logged as hops; a caller may wait for its outcome at the fake Genesys.
 */
import { randomUUID } from 'node:crypto';
import type { SandboxDelivery } from '../../core/channel.js';
import { signGenesysBody } from '../../genesys/webhook/verify.js';
import type { SandboxClock } from '../clock.js';
import { deliverOutbound, outboundWebhookBody, type FakeGenesys } from '../fake-genesys/index.js';
import type { Bubble, HopChannel, HopLog } from './hops.js';

/** A refusal of what was asked, in a sentence for the player (HTTP 422 on the console's API, exit 2 on the CLI). */
export class PlayRefused extends Error {
  override readonly name = 'PlayRefused';
}

export interface CustomerPlay {
  /** `send` (text and/or image), or the name of one of the channel's actions. */
  action: string;
  text?: string;
  imageUrl?: string;
  from?: string;
  messageId?: string;
}

export interface PlayDeps {
  bridgeUrl: string;
  clock: SandboxClock;
  genesys: FakeGenesys;
  hops: HopLog;
}

export interface CustomerOutcome {
  status: number;
  body: string;
  label: string;
  /** The message the agent received because of it, when waited for and seen in time. */
  delivered?: unknown;
}

/** Plays the customer; with `waitMs`, waits that long for the message it causes to reach the fake Genesys. */
export async function playCustomer(deps: PlayDeps, c: HopChannel, play: CustomerPlay, waitMs = 0): Promise<CustomerOutcome> {
  const scene = { bridgeUrl: deps.bridgeUrl, clock: deps.clock.now };
  const seenBefore = deps.genesys.messages.length;
  let delivery: SandboxDelivery;
  let bubble: Extract<Bubble, { on: 'phone'; who: 'customer' }>;
  if (play.action === 'send') {
    if (!play.text && !play.imageUrl) throw new PlayRefused('write a text or give an image URL');
    delivery = await refusing(() =>
      c.sandbox.send(scene, { ...(play.text ? { text: play.text } : {}), ...(play.imageUrl ? { imageUrl: play.imageUrl } : {}), ...(play.from ? { from: play.from } : {}) }),
    );
    bubble = { on: 'phone', who: 'customer', ...(play.text ? { text: play.text } : {}), ...(play.imageUrl ? { imageUrl: play.imageUrl } : {}) };
  } else {
    const action = c.sandbox.actions?.[play.action];
    if (!action) throw new PlayRefused(`${c.channel.labels.platform} has no customer action "${play.action}"; it has: ${['send', ...Object.keys(c.sandbox.actions ?? {})].join(', ')}`);
    const messageId = play.messageId ?? (action.about === 'brand-message' ? deps.hops.latestBrandMessage(c.channel.name) : undefined);
    delivery = await refusing(() => action.play(scene, { ...(play.text ? { text: play.text } : {}), ...(messageId ? { messageId } : {}) }));
    bubble = { on: 'phone', who: 'customer', text: `${play.text ? `${play.text} · ` : ''}${action.help}` };
  }
  deps.hops.customerWebhooks(c, delivery.webhooks, bubble, delivery.label);
  const outcome: CustomerOutcome = { status: delivery.status, body: delivery.body, label: delivery.label };
  if (waitMs <= 0 || delivery.status !== 200) return outcome;
  const seen = await waitFor(waitMs, () => deps.genesys.messages.slice(seenBefore).find((m) => delivery.matches(m.body as Record<string, unknown>)));
  return seen ? { ...outcome, delivered: seen.body } : outcome;
}

export interface AgentPlay {
  text?: string;
  imageUrl?: string;
  /** Sent by a bot rather than a human agent (some platforms' extended windows are for humans only). */
  bot?: boolean;
  /** The customer's platform id (default: the sandbox customer). */
  to?: string;
}

export interface AgentOutcome {
  status: number;
  body: string;
  genesysMessageId: string;
  /** The receipt the bridge reported for it, when waited for and seen in time. */
  receipt?: { status: string; reasons?: Array<{ code?: string; message: string }> } & Record<string, unknown>;
}

/**
 * Plays the agent's Genesys: a signed outbound notification; with `waitMs`, waits that long for its receipt. An
 * image is uploaded to the fake Genesys first and the notification carries its download link, as a real agent's
 * attachment does (the bridge must fetch it with its Genesys token).
 */
export async function playAgent(deps: PlayDeps, c: HopChannel, play: AgentPlay, waitMs = 0): Promise<AgentOutcome> {
  if (!play.text && !play.imageUrl) throw new PlayRefused('write a text or give an image URL');
  const { sandbox } = c;
  const attachment = play.imageUrl ? await uploadAgentImage(deps.genesys, play.imageUrl) : undefined;
  const { id, body } = outboundWebhookBody({
    integrationId: sandbox.integrationId,
    customerId: play.to ?? sandbox.customerId,
    ...(play.text ? { text: play.text } : {}),
    ...(attachment ? { attachments: [attachment] } : {}),
    originatingEntity: play.bot ? 'Bot' : 'Human',
    conversationId: conversationIdFor(sandbox.integrationId),
  });
  const path = `/webhooks/genesys/${sandbox.connectionId}`;
  const at = deps.clock.now();
  // The agent types in the same world as the customer: a day later on the sandbox clock.
  (body.channel as { time: string }).time = new Date(at).toISOString();
  const raw = JSON.stringify(body);
  const answer = await deliverOutbound(`${deps.bridgeUrl}${path}`, raw, sandbox.genesysWebhookSecret, { retryDelayMs: 500 });
  const headers = { 'content-type': 'application/json', 'x-hub-signature-256': signGenesysBody(raw, sandbox.genesysWebhookSecret, 'base64') };
  const bubble = { on: 'agent', who: 'agent', genesysMessageId: id, ...(play.text ? { text: play.text } : {}), ...(play.imageUrl ? { imageUrl: play.imageUrl } : {}) } as const;
  deps.hops.agentNotification(c, { at, path, headers, body, status: answer.status, answer: answer.text }, bubble);
  const outcome: AgentOutcome = { status: answer.status, body: answer.text, genesysMessageId: id };
  if (waitMs <= 0 || answer.status !== 200) return outcome;
  const receipt = await waitFor(waitMs, () => deps.genesys.receipts.find((r) => (r.body as { id?: string }).id === id));
  return receipt ? { ...outcome, receipt: receipt.body as NonNullable<AgentOutcome['receipt']> } : outcome;
}

/** One Genesys conversation per integration, as an agent's would be. */
const conversations = new Map<string, string>();
function conversationIdFor(integrationId: string): string {
  let id = conversations.get(integrationId);
  if (!id) conversations.set(integrationId, (id = randomUUID()));
  return id;
}

/** The picked image, kept by the fake Genesys as an agent's upload: the attachment a notification carries. */
async function uploadAgentImage(genesys: FakeGenesys, imageUrl: string): Promise<{ mediaType: 'Image'; url: string; mime: string; filename: string }> {
  const response = await fetch(imageUrl).catch(() => {
    throw new PlayRefused(`${imageUrl} could not be fetched`);
  });
  const mime = response.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase() ?? '';
  if (!response.ok || !mime.startsWith('image/')) {
    await response.body?.cancel();
    throw new PlayRefused(`${imageUrl} did not answer with an image (HTTP ${response.status}${mime ? `, ${mime}` : ''})`);
  }
  const filename = decodeURIComponent(new URL(imageUrl).pathname.split('/').pop() || 'image');
  const bytes = new Uint8Array(await response.arrayBuffer());
  return { mediaType: 'Image', url: genesys.hostAttachment({ bytes, mime, filename }), mime, filename };
}

/** A facet's refusal (an Error with a sentence) becomes a PlayRefused; a failed connection stays what it is. */
async function refusing<T>(play: () => Promise<T>): Promise<T> {
  try {
    return await play();
  } catch (err) {
    if (err instanceof TypeError) throw err; // fetch: the bridge (or an image URL) could not be reached
    throw new PlayRefused((err as Error).message);
  }
}

async function waitFor<T>(ms: number, find: () => T | undefined): Promise<T | undefined> {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = find();
    if (found !== undefined || Date.now() >= deadline) return found;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
