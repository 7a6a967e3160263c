/**
 * Genesys outbound notification webhooks, the agent's (or a bot's) replies (genesys-open-messaging.md §3): the
 * body → normalized outbound command (src/core/commands.ts). Pure: no I/O, no clock; the HTTP layer maps the
 * results onto DMB_ERR codes and answers 2xx to everything it accepted (§3.3). A message over the caps of
 * src/genesys/webhook/limits.ts is `unsupported`, so the agent learns why in a Failed receipt.
 */
import { z } from 'zod';
import type { OriginatingEntity, OutboundCommand, OutboundMessageCommand } from '../../core/commands.js';
import { splitText } from '../../core/split-text.js';
import { lenient, readMessage, type MessageDraft } from './content.js';
import { fallbackText } from './fallback.js';
import { MAX_LIST_ITEMS, MAX_RENDERED_CHARS, MAX_TEXT_PARTS, STRICTEST_TEXT_LIMIT } from './limits.js';

export type GenesysOutboundParse =
  | { kind: 'command'; command: OutboundCommand }
  | { kind: 'ignore'; reason: 'receipt' | 'inbound_echo' | 'event_other'; genesysMessageId?: string }
  /** `tooLarge`: the message is over a cap (limits.ts): the agent can send it shorter. */
  | { kind: 'unsupported'; genesysMessageId: string; integrationId: string; customerId: string; detail: string; tooLarge?: true }
  | { kind: 'invalid'; detail: string };

/** Who and what a notification is about: enough to send a receipt for it. */
interface Envelope {
  genesysMessageId: string;
  integrationId: string;
  customerId: string;
}

// The published OpenOutboundNormalizedMessage schema has additionalProperties: true and no required fields,
// and its enums predate Event/QuickReply/Carousel/DatePicker: validate leniently (§3.4).
// https://developer.genesys.cloud/commdigital/digital/openmessaging/normalizedmsgformat
// `content` and `events` are checked for being lists here and read item by item later, within limits.
const notificationSchema = z.looseObject({
  id: lenient(z.string().min(1)),
  channel: lenient(
    z.looseObject({
      id: lenient(z.string().min(1)),
      to: lenient(z.looseObject({ id: lenient(z.string().min(1)) })),
      time: lenient(z.string()),
    }),
  ),
  type: lenient(z.string()),
  direction: lenient(z.string()),
  originatingEntity: lenient(z.string()),
  text: lenient(z.string()),
  content: z.unknown().optional(),
  events: z.unknown().optional(),
});
type Notification = z.output<typeof notificationSchema>;

const typingEventSchema = z.looseObject({
  eventType: z.literal('Typing'),
  typing: lenient(z.looseObject({ type: lenient(z.string()) })),
});

/**
 * Genesys outbound notification → one command, or why there is none. Never throws for any JSON value.
 * `unsupported` still carries the ids, so the caller answers 2xx and sends a Failed `UnsupportedMessage`
 * receipt (§8); `invalid` has no id or customer to report on.
 */
export function parseGenesysOutbound(body: unknown): GenesysOutboundParse {
  const parsed = notificationSchema.safeParse(body);
  if (!parsed.success) return { kind: 'invalid', detail: 'the body is not a JSON object' };
  const notification = parsed.data;
  const ignored = ignoreReason(notification);
  if (ignored !== undefined) {
    return { kind: 'ignore', reason: ignored, ...(notification.id ? { genesysMessageId: notification.id } : {}) };
  }
  const envelope = readEnvelope(notification);
  if (typeof envelope === 'string') return { kind: 'invalid', detail: envelope };
  // Key fact 21: agent text is `type: "Text"`; a missing type is read as that (no field is required).
  const type = notification.type ?? 'Text';
  if (type === 'Event') return withTimestamp(notification, (timestamp) => ({ kind: 'typing', ...envelope, timestamp }));
  if (type !== 'Text' && type !== 'Structured') {
    return { kind: 'unsupported', ...envelope, detail: `Genesys message type ${JSON.stringify(type)} is not supported` };
  }
  // The text alone over the cap is refused before any content is read.
  if ((notification.text?.length ?? 0) > MAX_RENDERED_CHARS) return { kind: 'unsupported', ...envelope, detail: tooLong(), tooLarge: true };
  const draft = readMessage(notification.text, listOf(notification.content));
  if (typeof draft === 'string') return { kind: 'unsupported', ...envelope, detail: draft };
  const built = withTimestamp(notification, (timestamp) => buildMessageCommand(envelope, timestamp, notification, draft));
  const overCaps = built.kind === 'command' && built.command.kind === 'message' ? renderedProblem(built.command) : undefined;
  return overCaps === undefined ? built : { kind: 'unsupported', ...envelope, detail: overCaps, tooLarge: true };
}

/** A lenient list: anything else reads as absent. */
function listOf(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}

/** Notifications that are not for the customer. */
function ignoreReason(n: Notification): 'receipt' | 'inbound_echo' | 'event_other' | undefined {
  // Receipts may be webhooked to us; when Genesys sends them is unconfirmed (§3.4): log only, never re-send.
  if (n.type === 'Receipt') return 'receipt';
  // The customer's own messages coming back: sending them would echo the customer to themselves (key fact 30).
  if (n.direction === 'Inbound') return 'inbound_echo';
  if (n.type === 'Event' && !hasTypingOn(listOf(n.events))) return 'event_other';
  return undefined;
}

/**
 * `events:[{eventType:"Typing", typing:{type:"On", duration:5000}}]` (§3.4, https://github.com/gildas/go-gcloudcx).
 * Genesys sends one event; only the first MAX_LIST_ITEMS are looked at (typing is best effort).
 */
function hasTypingOn(events: readonly unknown[]): boolean {
  return events.slice(0, MAX_LIST_ITEMS).some((raw) => {
    const event = typingEventSchema.safeParse(raw);
    return event.success && (event.data.typing?.type ?? 'On') === 'On';
  });
}

/** `id` is what every receipt must carry, `channel.to.id` the customer (key fact 12), `channel.id` the integration. */
function readEnvelope(n: Notification): Envelope | string {
  if (!n.id) return 'missing id';
  if (!n.channel?.to?.id) return 'missing channel.to.id';
  if (!n.channel.id) return 'missing channel.id';
  return { genesysMessageId: n.id, integrationId: n.channel.id, customerId: n.channel.to.id };
}

function withTimestamp(n: Notification, build: (timestamp: number) => OutboundCommand): GenesysOutboundParse {
  const timestamp = Date.parse(n.channel?.time ?? '');
  if (Number.isNaN(timestamp)) {
    return { kind: 'invalid', detail: `channel.time ${JSON.stringify(n.channel?.time ?? null)} is not a date` };
  }
  return { kind: 'command', command: build(timestamp) };
}

function buildMessageCommand(
  envelope: Envelope,
  timestamp: number,
  n: Notification,
  draft: MessageDraft,
): OutboundMessageCommand {
  const text = draft.textParts.join('\n');
  const command: OutboundMessageCommand = {
    kind: 'message',
    ...envelope,
    timestamp,
    originatingEntity: originatingEntityOf(n.originatingEntity),
    attachments: draft.attachments,
  };
  if (text) command.text = text;
  if (draft.quickReplies.length > 0) command.quickReplies = draft.quickReplies;
  if (draft.cards.length > 0) command.cards = draft.cards;
  if (draft.structured) command.fallbackText = fallbackText(text, draft.quickReplies, draft.cards);
  return command;
}

/** Meta's HUMAN_AGENT tag may only carry a human's words, so anything unclear is `Unknown`, never `Human`. */
function originatingEntityOf(value: string | undefined): OriginatingEntity {
  return value === 'Human' || value === 'Bot' ? value : 'Unknown';
}

/**
 * Why the message as the platforms would receive it is too long, or undefined. The fallback text is the longest
 * form: the text with its link URLs, templates and date pickers, and the quick replies and cards written out.
 */
function renderedProblem(command: OutboundMessageCommand): string | undefined {
  const rendered = command.fallbackText ?? command.text ?? '';
  if (rendered.length > MAX_RENDERED_CHARS) return tooLong();
  const parts = splitText(rendered, STRICTEST_TEXT_LIMIT).length;
  if (parts > MAX_TEXT_PARTS) return `the message would be ${parts} messages of ${STRICTEST_TEXT_LIMIT.maxUtf8Bytes} bytes; at most ${MAX_TEXT_PARTS} are sent`;
  return undefined;
}

function tooLong(): string {
  return `the message is longer than ${MAX_RENDERED_CHARS} characters with its links, templates and options written out`;
}
