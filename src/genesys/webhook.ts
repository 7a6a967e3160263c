/**
 * Genesys outbound notification webhooks, the agent's (or a bot's) replies (genesys-open-messaging.md §3):
 * the `X-Hub-Signature-256` check over the raw body, and the body → normalized outbound command
 * (src/core/commands.ts). Pure functions, no I/O, no clock; the HTTP layer maps the results onto DMB_ERR codes
 * and answers 2xx to everything it accepted (§3.3).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type {
  OriginatingEntity,
  OutboundAttachment,
  OutboundCard,
  OutboundCommand,
  OutboundMessageCommand,
  OutboundOption,
} from '../core/commands.js';

// ---- signature ----

export type GenesysSignatureVariant = 'base64' | 'hex' | 'base64-reserialized' | 'hex-reserialized';

export type GenesysSignatureCheck =
  | { ok: true; variant: GenesysSignatureVariant }
  | { ok: false; reason: 'missing' | 'malformed' | 'mismatch' };

type DigestEncoding = 'base64' | 'hex';

const SIGNATURE_PREFIX = 'sha256=';
// Documented: standard, padded base64 of the 32-byte HMAC (44 chars).
// https://developer.genesys.cloud/commdigital/digital/openmessaging/validate
const BASE64_DIGEST = /^[A-Za-z0-9+/]{43}=$/;
// Observed: lower-case hex (64 chars), accepted by a third-party middleware.
// https://github.com/dgurwan/genesys-open-messaging-middleware (src/signatures.js)
const HEX_DIGEST = /^[0-9a-f]{64}$/;

/**
 * Checks `X-Hub-Signature-256: sha256=<digest>` (HMAC-SHA256 keyed with the integration's
 * `outboundNotificationWebhookSignatureSecretToken`). The raw bytes are tried first; Genesys's own sample hashes
 * `JSON.stringify(JSON.parse(body))`, so that is the fallback (§3.2 step 4). `variant` says which matched, so the
 * set can be narrowed once real deliveries are seen; every variant still needs the secret.
 * Throws on an empty secret: verification never silently passes (fail closed).
 */
export function verifyGenesysSignature(
  rawBody: Uint8Array,
  header: string | null | undefined,
  secret: string,
): GenesysSignatureCheck {
  assertSecret(secret);
  if (header === null || header === undefined || header === '') return { ok: false, reason: 'missing' };
  if (!header.startsWith(SIGNATURE_PREFIX)) return { ok: false, reason: 'malformed' };
  const digest = header.slice(SIGNATURE_PREFIX.length);
  const encoding = digestEncoding(digest);
  if (encoding === undefined) return { ok: false, reason: 'malformed' };
  if (digestMatches(hmacSha256(secret, rawBody), encoding, digest)) return { ok: true, variant: encoding };
  const reserialized = reserializedJson(rawBody);
  if (reserialized !== undefined && digestMatches(hmacSha256(secret, reserialized), encoding, digest)) {
    return { ok: true, variant: `${encoding}-reserialized` };
  }
  return { ok: false, reason: 'mismatch' };
}

/** The `X-Hub-Signature-256` value Genesys would send for this body (fake Genesys, tests, sandbox). */
export function signGenesysBody(raw: Uint8Array | string, secret: string, encoding: DigestEncoding = 'base64'): string {
  assertSecret(secret);
  const bytes = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
  return `${SIGNATURE_PREFIX}${hmacSha256(secret, bytes).toString(encoding)}`;
}

function digestEncoding(digest: string): DigestEncoding | undefined {
  if (BASE64_DIGEST.test(digest)) return 'base64';
  if (HEX_DIGEST.test(digest)) return 'hex';
  return undefined;
}

/**
 * Compares the encoded strings, not decoded bytes: base64 decoding ignores the last character's spare bits, so
 * two different headers could decode alike. The regexes above fix the length, so the buffers are equal-length.
 */
function digestMatches(mac: Buffer, encoding: DigestEncoding, received: string): boolean {
  const expected = Buffer.from(mac.toString(encoding), 'ascii');
  const actual = Buffer.from(received, 'ascii');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** `JSON.stringify(JSON.parse(raw))` as bytes; undefined when it is not JSON or nothing would change. */
function reserializedJson(rawBody: Uint8Array): Buffer | undefined {
  const text = new TextDecoder().decode(rawBody);
  let reserialized: string;
  try {
    reserialized = JSON.stringify(JSON.parse(text));
  } catch {
    return undefined;
  }
  return reserialized === text ? undefined : Buffer.from(reserialized, 'utf8');
}

function hmacSha256(secret: string, bytes: Uint8Array): Buffer {
  return createHmac('sha256', secret).update(bytes).digest();
}

function assertSecret(secret: string): void {
  if (secret === '') throw new Error('Genesys webhook verification needs a non-empty signature secret (fail closed)');
}

// ---- parsing ----

export type GenesysOutboundParse =
  | { kind: 'command'; command: OutboundCommand }
  | { kind: 'ignore'; reason: 'receipt' | 'inbound_echo' | 'event_other'; genesysMessageId?: string }
  | { kind: 'unsupported'; genesysMessageId: string; integrationId: string; customerId: string; detail: string }
  | { kind: 'invalid'; detail: string };

/** Who and what a notification is about: enough to send a receipt for it. */
interface Envelope {
  genesysMessageId: string;
  integrationId: string;
  customerId: string;
}

/** A field that only describes: missing, null or mistyped reads as absent and never fails the body. */
function lenient<T extends z.ZodType>(schema: T) {
  return schema.optional().catch(undefined);
}

// The published OpenOutboundNormalizedMessage schema has additionalProperties: true and no required fields,
// and its enums predate Event/QuickReply/Carousel/DatePicker: validate leniently (§3.4).
// https://developer.genesys.cloud/commdigital/digital/openmessaging/normalizedmsgformat
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
  content: lenient(z.array(z.unknown())),
  events: lenient(z.array(z.unknown())),
});
type Notification = z.output<typeof notificationSchema>;

const typingEventSchema = z.looseObject({
  eventType: z.literal('Typing'),
  typing: lenient(z.looseObject({ type: lenient(z.string()) })),
});

const contentItemSchema = z.looseObject({ contentType: lenient(z.string()) });

const attachmentSchema = z.looseObject({
  mediaType: z.enum(['Image', 'Video', 'Audio', 'File', 'Link']),
  url: z.string().min(1),
  mime: lenient(z.string().min(1)),
  filename: lenient(z.string().min(1)),
  contentSizeBytes: lenient(z.int().nonnegative()),
});

const quickReplySchema = z.looseObject({ text: z.string().min(1), payload: lenient(z.string().min(1)) });

const cardActionSchema = z.looseObject({
  type: lenient(z.string()),
  text: lenient(z.string()),
  payload: lenient(z.string().min(1)),
  url: lenient(z.string().min(1)),
});

const cardSchema = z.looseObject({
  title: lenient(z.string()),
  description: lenient(z.string()),
  image: lenient(z.string().min(1)),
  actions: lenient(z.array(z.unknown())),
});

const carouselSchema = z.looseObject({ cards: z.array(z.unknown()) });

const datePickerSchema = z.looseObject({
  title: lenient(z.string()),
  subtitle: lenient(z.string()),
  availableTimes: z.array(z.unknown()),
});

const availableTimeSchema = z.looseObject({ dateTime: z.string(), duration: lenient(z.number().nonnegative()) });

const templateParametersSchema = lenient(z.array(z.looseObject({ name: lenient(z.string()), text: z.string() })));
type TemplateParameters = z.output<typeof templateParametersSchema>;

const templateSchema = z.looseObject({
  header: lenient(z.looseObject({ text: lenient(z.string()), parameters: templateParametersSchema })),
  body: z.looseObject({ text: z.string(), parameters: templateParametersSchema }),
  buttons: lenient(z.array(z.looseObject({ text: lenient(z.string()), url: lenient(z.string()) }))),
  footer: lenient(z.looseObject({ text: lenient(z.string()) })),
});

/** Five times Genesys's own limit for Open Messaging agent text (key fact 25). */
const MAX_TEXT_CHARS = 20_000;

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
  // Genesys caps agent text at 4000 characters (key fact 25); anything far beyond is not an agent's message,
  // and splitting huge texts is slow (Intl.Segmenter), so it is refused here, before it reaches a worker.
  if ((notification.text?.length ?? 0) > MAX_TEXT_CHARS) {
    return { kind: 'unsupported', ...envelope, detail: `the text is longer than ${MAX_TEXT_CHARS} characters` };
  }
  const draft = readMessage(notification);
  if (typeof draft === 'string') return { kind: 'unsupported', ...envelope, detail: draft };
  return withTimestamp(notification, (timestamp) => buildMessageCommand(envelope, timestamp, notification, draft));
}

/** Notifications that are not for the customer. */
function ignoreReason(n: Notification): 'receipt' | 'inbound_echo' | 'event_other' | undefined {
  // Receipts may be webhooked to us; when Genesys sends them is unconfirmed (§3.4): log only, never re-send.
  if (n.type === 'Receipt') return 'receipt';
  // The customer's own messages coming back: sending them would echo the customer to themselves (key fact 30).
  if (n.direction === 'Inbound') return 'inbound_echo';
  if (n.type === 'Event' && !hasTypingOn(n.events)) return 'event_other';
  return undefined;
}

/** `events:[{eventType:"Typing", typing:{type:"On", duration:5000}}]` (§3.4, https://github.com/gildas/go-gcloudcx). */
function hasTypingOn(events: unknown[] | undefined): boolean {
  return (events ?? []).some((raw) => {
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
  if (draft.structured) command.fallbackText = fallbackTextOf(text, draft);
  return command;
}

/** Meta's HUMAN_AGENT tag may only carry a human's words, so anything unclear is `Unknown`, never `Human`. */
function originatingEntityOf(value: string | undefined): OriginatingEntity {
  return value === 'Human' || value === 'Bot' ? value : 'Unknown';
}

// ---- message content ----

/** What a Text or Structured notification asks to send, before the envelope is added. */
interface MessageDraft {
  /** Lines of the message text: the agent's text, Link URLs, rendered date pickers and templates. */
  textParts: string[];
  attachments: OutboundAttachment[];
  quickReplies: OutboundOption[];
  cards: OutboundCard[];
  /** Any structured content: the command then carries `fallbackText`. */
  structured: boolean;
}

/** Reads one content item into the draft; returns false when the item is not one it understands. */
type ContentReader = (item: Record<string, unknown>, draft: MessageDraft) => boolean;

const CONTENT_READERS: Record<string, ContentReader> = {
  Attachment: readAttachment,
  QuickReply: readQuickReply,
  Card: readCard,
  Carousel: readCarousel,
  DatePicker: readDatePicker,
  Notification: readNotification,
};

/** The property holding each content type's payload, for items that omit `contentType`. */
const PAYLOAD_KEYS: Record<string, string> = {
  attachment: 'Attachment',
  quickReply: 'QuickReply',
  card: 'Card',
  carousel: 'Carousel',
  datePicker: 'DatePicker',
  template: 'Notification',
};

/**
 * Text, attachments and structured content of a Text or Structured notification (§8), or why it cannot be sent.
 * One item that is not understood makes the whole message unsupported: dropping part of it silently would let
 * the agent believe the customer saw it (design.md, guarantee 5).
 */
function readMessage(n: Notification): MessageDraft | string {
  const draft: MessageDraft = { textParts: [], attachments: [], quickReplies: [], cards: [], structured: false };
  if (n.text?.trim()) draft.textParts.push(n.text);
  for (const [index, raw] of (n.content ?? []).entries()) {
    const item = contentItemSchema.safeParse(raw);
    const contentType = item.success ? contentTypeOf(item.data) : undefined;
    const reader = contentType === undefined ? undefined : CONTENT_READERS[contentType];
    if (!item.success || reader === undefined) return `content[${index}]: ${describeContentType(contentType)} is not supported`;
    if (!reader(item.data, draft)) return `content[${index}]: malformed ${contentType} content`;
  }
  const empty = draft.textParts.length === 0 && draft.attachments.length === 0;
  if (empty && draft.quickReplies.length === 0 && draft.cards.length === 0) {
    return 'the message has no text, attachment or structured content';
  }
  return draft;
}

function contentTypeOf(item: { contentType?: string | undefined } & Record<string, unknown>): string | undefined {
  if (item.contentType !== undefined) return item.contentType;
  const key = Object.keys(PAYLOAD_KEYS).find((k) => item[k] !== undefined);
  return key === undefined ? undefined : PAYLOAD_KEYS[key];
}

function describeContentType(contentType: string | undefined): string {
  return contentType === undefined ? 'content without a contentType' : `content type ${JSON.stringify(contentType)}`;
}

/** `{contentType:"Attachment", attachment:{mediaType, url, mime, filename, contentSizeBytes}}` (§3.4). */
function readAttachment(item: Record<string, unknown>, draft: MessageDraft): boolean {
  const parsed = attachmentSchema.safeParse(item.attachment);
  if (!parsed.success) return false;
  const { mediaType, url, mime, filename, contentSizeBytes } = parsed.data;
  // A Link is a URL to share, not a file to download and re-send (§8).
  if (mediaType === 'Link') {
    draft.textParts.push(url);
    return true;
  }
  const attachment: OutboundAttachment = { mediaType, url };
  if (mime) attachment.mime = mime;
  if (filename) attachment.filename = filename;
  if (contentSizeBytes !== undefined) attachment.size = contentSizeBytes;
  draft.attachments.push(attachment);
  return true;
}

/** `{contentType:"QuickReply", quickReply:{text, payload, action}}`; the payload is required by the model. */
function readQuickReply(item: Record<string, unknown>, draft: MessageDraft): boolean {
  const parsed = quickReplySchema.safeParse(item.quickReply);
  if (!parsed.success) return false;
  draft.quickReplies.push({ text: parsed.data.text, payload: parsed.data.payload ?? parsed.data.text });
  draft.structured = true;
  return true;
}

function readCard(item: Record<string, unknown>, draft: MessageDraft): boolean {
  const card = cardOf(item.card);
  if (card === undefined) return false;
  draft.cards.push(card);
  draft.structured = true;
  return true;
}

function readCarousel(item: Record<string, unknown>, draft: MessageDraft): boolean {
  const parsed = carouselSchema.safeParse(item.carousel);
  if (!parsed.success) return false;
  const cards = parsed.data.cards.map(cardOf);
  if (cards.length === 0 || cards.some((card) => card === undefined)) return false;
  draft.cards.push(...(cards as OutboundCard[]));
  draft.structured = true;
  return true;
}

/**
 * `{title, description?, image?, actions:[{type: Link|Postback, text, url?|payload?}]}` (Appendix A,
 * ConversationContentCard). Titles may be empty (https://github.com/gildas/go-gcloudcx testdata), so a card
 * needs a title or a description; an action needs a text and a URL or payload.
 */
function cardOf(raw: unknown): OutboundCard | undefined {
  const parsed = cardSchema.safeParse(raw);
  if (!parsed.success) return undefined;
  const { title, description, image, actions } = parsed.data;
  if (!title?.trim() && !description?.trim()) return undefined;
  const options = (actions ?? []).map(cardActionOf);
  if (options.some((option) => option === undefined)) return undefined;
  const card: OutboundCard = { title: title ?? '', actions: options as OutboundOption[] };
  if (description) card.description = description;
  if (image) card.imageUrl = image;
  return card;
}

function cardActionOf(raw: unknown): OutboundOption | undefined {
  const parsed = cardActionSchema.safeParse(raw);
  if (!parsed.success || !parsed.data.text?.trim()) return undefined;
  const { type, text, url, payload } = parsed.data;
  if (url !== undefined && type !== 'Postback') return { text, url };
  if (payload !== undefined) return { text, payload };
  return undefined;
}

/**
 * `{title?, subtitle?, availableTimes:[{dateTime, duration}]}`, duration in seconds
 * (https://github.com/MyPureCloud/platform-client-sdk-python, ContentDatePickerAvailableTime). Neither platform
 * has a date picker, so it becomes a numbered list of times (§8).
 */
function readDatePicker(item: Record<string, unknown>, draft: MessageDraft): boolean {
  const parsed = datePickerSchema.safeParse(item.datePicker);
  if (!parsed.success) return false;
  const times = parsed.data.availableTimes.map((raw) => availableTimeSchema.safeParse(raw));
  if (times.length === 0 || times.some((time) => !time.success)) return false;
  const lines = [parsed.data.title, parsed.data.subtitle].filter((line): line is string => Boolean(line?.trim()));
  times.forEach((time, i) => {
    const { dateTime, duration } = time.data!;
    lines.push(`${i + 1}. ${isoOrAsIs(dateTime)}${duration !== undefined ? ` (${formatDuration(duration)})` : ''}`);
  });
  draft.textParts.push(lines.join('\n'));
  draft.structured = true;
  return true;
}

function isoOrAsIs(dateTime: string): string {
  const at = Date.parse(dateTime);
  return Number.isNaN(at) ? dateTime : new Date(at).toISOString();
}

function formatDuration(seconds: number): string {
  return seconds % 60 === 0 ? `${seconds / 60} min` : `${seconds} s`;
}

/**
 * `{template:{header?, body:{text, parameters}, buttons?, footer?}}` (Appendix A, ConversationContentNotificationTemplate),
 * rendered as text. Genesys may also put the rendered body in `text` (https://github.com/gildas/go-gcloudcx
 * testdata/openmessaging-outbound-notification.json): the same line is not repeated.
 */
function readNotification(item: Record<string, unknown>, draft: MessageDraft): boolean {
  const parsed = templateSchema.safeParse(item.template);
  if (!parsed.success) return false;
  const { header, body, buttons, footer } = parsed.data;
  const lines = [
    header?.text ? fillTemplate(header.text, header.parameters) : undefined,
    fillTemplate(body.text, body.parameters),
    ...(buttons ?? []).map((button) => [button.text, button.url].filter(Boolean).join(': ')),
    footer?.text,
  ].filter((line): line is string => Boolean(line?.trim()) && !draft.textParts.includes(line!));
  if (lines.length > 0) draft.textParts.push(lines.join('\n'));
  draft.structured = true;
  return true;
}

/** `{{1}}` is the first parameter, `{{name}}` the parameter named so; unknown placeholders stay visible. */
function fillTemplate(text: string, parameters: TemplateParameters): string {
  return text.replace(/\{\{\s*([^{}\s]+)\s*\}\}/g, (placeholder, key: string) => {
    const named = parameters?.find((p) => p.name === key);
    const positional = /^\d+$/.test(key) ? parameters?.[Number(key) - 1] : undefined;
    return (named ?? positional)?.text ?? placeholder;
  });
}

// ---- fallback text ----

/** The whole message as readable text: the prompt, then quick replies numbered, then cards with their links. */
function fallbackTextOf(text: string, draft: MessageDraft): string {
  const quickReplies = draft.quickReplies.map((option, i) => `${i + 1}. ${option.text}`);
  const numbered = draft.cards.length > 1;
  const cards = draft.cards.flatMap((card, i) => cardLines(card, numbered ? `${i + 1}. ` : ''));
  return [text, ...quickReplies, ...cards].filter(Boolean).join('\n');
}

function cardLines(card: OutboundCard, prefix: string): string[] {
  const heading = [card.title, card.description].filter(Boolean).join(' – ');
  const indent = ' '.repeat(prefix.length);
  const actions = card.actions.map((action) => `${indent}${action.url ? `${action.text}: ${action.url}` : action.text}`);
  return [`${prefix}${heading}`, ...actions];
}
