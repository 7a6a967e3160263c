/**
 * The quick replies and card buttons a Genesys bot or agent offered a customer, kept so that the customer's tap can
 * go back to Genesys as a structured response naming the offering message: a bot flow then receives the button, not
 * text (genesys-open-messaging.md key fact 15, §2.4). Platforms return the payload the bridge put on the button, which
 * is the Genesys option's payload (or its text when it has none): the channels send it so.
 */
import type { OutboundMessageCommand } from '../core/commands.js';
import type { InboundMessage } from '../core/events.js';
import type { Records } from '../core/store.js';
import { PLATFORM_MESSAGE, linkTtlMs, type PlatformMessageLink } from './links.js';

/** Record namespace; key `{connectionId}:{customerId}`: the latest offers, newest first. */
const OFFERS = 'structured-offer';
const KEPT = 5;

type ButtonType = 'QuickReply' | 'Button';

interface Offer {
  genesysMessageId: string;
  options: Array<{ payload: string; type: ButtonType }>;
}

export interface OfferAnswered {
  originatingMessageId: string;
  type: ButtonType;
  payload: string;
}

/** Keeps what a delivered reply offered, if anything. */
export async function rememberOffer(store: Records, connectionId: string, command: OutboundMessageCommand, now: number): Promise<void> {
  const options = [
    ...(command.quickReplies ?? []).map((o) => ({ payload: o.payload || o.text, type: 'QuickReply' as const })),
    ...(command.cards ?? []).flatMap((card) => card.actions.flatMap((a) => (a.payload ? [{ payload: a.payload, type: 'Button' as const }] : []))),
  ];
  if (options.length === 0) return;
  const key = `${connectionId}:${command.customerId}`;
  const kept = (await store.getRecord<Offer[]>(OFFERS, key)) ?? [];
  const offers = [{ genesysMessageId: command.genesysMessageId, options }, ...kept.filter((o) => o.genesysMessageId !== command.genesysMessageId)];
  await store.putRecord(OFFERS, key, offers.slice(0, KEPT), now + linkTtlMs);
}

/**
 * The offer a tap answers: the one of the message that carried the button when the platform names it, else the
 * newest offer with a button of that payload. Undefined when the tap answers nothing Genesys offered.
 */
export async function offerAnswered(store: Records, connectionId: string, event: InboundMessage & { button: NonNullable<InboundMessage['button']> }): Promise<OfferAnswered | undefined> {
  const { payload, inMessage } = event.button;
  const [offers, carrier] = await Promise.all([
    store.getRecord<Offer[]>(OFFERS, `${connectionId}:${event.customerId}`),
    inMessage ? store.getRecord<PlatformMessageLink>(PLATFORM_MESSAGE, `${connectionId}:${inMessage}`) : undefined,
  ]);
  const candidates = (offers ?? []).filter((o) => carrier?.genesysMessageId === undefined || o.genesysMessageId === carrier.genesysMessageId);
  for (const offer of candidates) {
    const option = offer.options.find((o) => o.payload === payload);
    if (option) return { originatingMessageId: offer.genesysMessageId, type: option.type, payload };
  }
  return undefined;
}
