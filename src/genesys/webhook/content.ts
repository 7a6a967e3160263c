/**
 * The content of a Genesys Text or Structured notification (genesys-open-messaging.md §3.4, §8): the agent's
 * text, attachments, quick replies, cards, carousels, date pickers and notification templates, read into one
 * draft. Pure: no I/O, no clock. Lists are counted against src/genesys/webhook/limits.ts as they are read, so an
 * oversized one is refused before it is read item by item.
 */
import { z } from 'zod';
import type { OutboundAttachment, OutboundCard, OutboundOption } from '../../core/commands.js';
import { MAX_ATTACHMENTS, MAX_CHOICES, MAX_LIST_ITEMS } from './limits.js';

/** What a Text or Structured notification asks to send, before the envelope is added. */
export interface MessageDraft {
  /** Lines of the message text: the agent's text, Link URLs, rendered date pickers and templates. */
  textParts: string[];
  attachments: OutboundAttachment[];
  quickReplies: OutboundOption[];
  cards: OutboundCard[];
  /** Quick replies, card and template buttons, date-picker times: what the customer could pick from. */
  choices: number;
  /** Any structured content: the command then carries `fallbackText`. */
  structured: boolean;
}

/** A field that only describes: missing, null or mistyped reads as absent and never fails the body. */
export function lenient<T extends z.ZodType>(schema: T) {
  return schema.optional().catch(undefined);
}

/**
 * Reads one content item into the draft; returns why it cannot be sent (`malformed` when it is not one it
 * understands), or undefined.
 */
type ContentReader = (item: Record<string, unknown>, draft: MessageDraft) => string | undefined;

const MALFORMED = 'malformed';

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

const contentItemSchema = z.looseObject({ contentType: lenient(z.string()) });

/**
 * Text, attachments and structured content of a Text or Structured notification (§8), or why it cannot be sent.
 * One item that is not understood makes the whole message unsupported: dropping part of it silently would let
 * the agent believe the customer saw it (design.md, guarantee 5).
 */
export function readMessage(text: string | undefined, content: readonly unknown[]): MessageDraft | string {
  if (content.length > MAX_LIST_ITEMS) {
    return `the message has ${content.length} content items (attachments, quick replies, cards); at most ${MAX_LIST_ITEMS} are read`;
  }
  const draft: MessageDraft = { textParts: [], attachments: [], quickReplies: [], cards: [], choices: 0, structured: false };
  if (text?.trim()) draft.textParts.push(text);
  for (const [index, raw] of content.entries()) {
    const item = contentItemSchema.safeParse(raw);
    const contentType = item.success ? contentTypeOf(item.data) : undefined;
    const reader = contentType === undefined ? undefined : CONTENT_READERS[contentType];
    if (!item.success || reader === undefined) return `content[${index}]: ${describeContentType(contentType)} is not supported`;
    const problem = reader(item.data, draft) ?? overLimits(draft);
    if (problem === MALFORMED) return `content[${index}]: malformed ${contentType} content`;
    if (problem !== undefined) return problem;
  }
  const empty = draft.textParts.length === 0 && draft.attachments.length === 0;
  if (empty && draft.quickReplies.length === 0 && draft.cards.length === 0) {
    return 'the message has no text, attachment or structured content';
  }
  return draft;
}

function overLimits(draft: MessageDraft): string | undefined {
  if (draft.attachments.length > MAX_ATTACHMENTS) {
    return `the message has more than ${MAX_ATTACHMENTS} attachments, and each would be a message of its own`;
  }
  return draft.choices > MAX_CHOICES ? tooManyChoices(draft.choices) : undefined;
}

function tooManyChoices(choices: number): string {
  return `the message offers ${choices} or more choices (quick replies, buttons, times); at most ${MAX_CHOICES} can be shown`;
}

/** Counts `count` more choices; returns why that is too many, before they are read. */
function addChoices(draft: MessageDraft, count: number): string | undefined {
  draft.choices += count;
  return draft.choices > MAX_CHOICES ? tooManyChoices(draft.choices) : undefined;
}

function contentTypeOf(item: { contentType?: string | undefined } & Record<string, unknown>): string | undefined {
  if (item.contentType !== undefined) return item.contentType;
  const key = Object.keys(PAYLOAD_KEYS).find((k) => item[k] !== undefined);
  return key === undefined ? undefined : PAYLOAD_KEYS[key];
}

function describeContentType(contentType: string | undefined): string {
  return contentType === undefined ? 'content without a contentType' : `content type ${JSON.stringify(contentType)}`;
}

/** The length of what should be a list, read before the list is validated item by item. */
function listLength(value: unknown): number {
  return Array.isArray(value) ? value.length : 0;
}

const attachmentSchema = z.looseObject({
  mediaType: z.enum(['Image', 'Video', 'Audio', 'File', 'Link']),
  url: z.string().min(1),
  mime: lenient(z.string().min(1)),
  filename: lenient(z.string().min(1)),
  contentSizeBytes: lenient(z.int().nonnegative()),
});

/** `{contentType:"Attachment", attachment:{mediaType, url, mime, filename, contentSizeBytes}}` (§3.4). */
function readAttachment(item: Record<string, unknown>, draft: MessageDraft): string | undefined {
  const parsed = attachmentSchema.safeParse(item.attachment);
  if (!parsed.success) return MALFORMED;
  const { mediaType, url, mime, filename, contentSizeBytes } = parsed.data;
  // A Link is a URL to share, not a file to download and re-send (§8).
  if (mediaType === 'Link') {
    draft.textParts.push(url);
    return undefined;
  }
  const attachment: OutboundAttachment = { mediaType, url };
  if (mime) attachment.mime = mime;
  if (filename) attachment.filename = filename;
  if (contentSizeBytes !== undefined) attachment.size = contentSizeBytes;
  draft.attachments.push(attachment);
  return undefined;
}

const quickReplySchema = z.looseObject({ text: z.string().min(1), payload: lenient(z.string().min(1)) });

/** `{contentType:"QuickReply", quickReply:{text, payload, action}}`; the payload is required by the model. */
function readQuickReply(item: Record<string, unknown>, draft: MessageDraft): string | undefined {
  const parsed = quickReplySchema.safeParse(item.quickReply);
  if (!parsed.success) return MALFORMED;
  draft.quickReplies.push({ text: parsed.data.text, payload: parsed.data.payload ?? parsed.data.text });
  draft.choices += 1;
  draft.structured = true;
  return undefined;
}

function readCard(item: Record<string, unknown>, draft: MessageDraft): string | undefined {
  const card = cardOf(item.card, draft);
  if (typeof card === 'string') return card;
  draft.cards.push(card);
  draft.structured = true;
  return undefined;
}

const carouselSchema = z.looseObject({ cards: z.array(z.unknown()).min(1) });

function readCarousel(item: Record<string, unknown>, draft: MessageDraft): string | undefined {
  const cardCount = listLength((item.carousel as { cards?: unknown } | undefined)?.cards);
  if (cardCount > MAX_LIST_ITEMS) return `a carousel of ${cardCount} cards; at most ${MAX_LIST_ITEMS} are read`;
  const parsed = carouselSchema.safeParse(item.carousel);
  if (!parsed.success) return MALFORMED;
  for (const raw of parsed.data.cards) {
    const card = cardOf(raw, draft);
    if (typeof card === 'string') return card;
    draft.cards.push(card);
  }
  draft.structured = true;
  return undefined;
}

const cardSchema = z.looseObject({
  title: lenient(z.string()),
  description: lenient(z.string()),
  image: lenient(z.string().min(1)),
  actions: lenient(z.array(z.unknown())),
});

const cardActionSchema = z.looseObject({
  type: lenient(z.string()),
  text: lenient(z.string()),
  payload: lenient(z.string().min(1)),
  url: lenient(z.string().min(1)),
});

/**
 * `{title, description?, image?, actions:[{type: Link|Postback, text, url?|payload?}]}` (Appendix A,
 * ConversationContentCard). Titles may be empty (https://github.com/gildas/go-gcloudcx testdata), so a card
 * needs a title or a description; an action needs a text and a URL or payload. Its actions count as choices.
 */
function cardOf(raw: unknown, draft: MessageDraft): OutboundCard | string {
  const tooMany = addChoices(draft, listLength((raw as { actions?: unknown } | undefined)?.actions));
  if (tooMany !== undefined) return tooMany;
  const parsed = cardSchema.safeParse(raw);
  if (!parsed.success) return MALFORMED;
  const { title, description, image, actions } = parsed.data;
  if (!title?.trim() && !description?.trim()) return MALFORMED;
  const options = (actions ?? []).map(cardActionOf);
  if (options.some((option) => option === undefined)) return MALFORMED;
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

const datePickerSchema = z.looseObject({
  title: lenient(z.string()),
  subtitle: lenient(z.string()),
  availableTimes: z.array(z.unknown()).min(1),
});

const availableTimeSchema = z.looseObject({ dateTime: z.string(), duration: lenient(z.number().nonnegative()) });

/**
 * `{title?, subtitle?, availableTimes:[{dateTime, duration}]}`, duration in seconds
 * (https://github.com/MyPureCloud/platform-client-sdk-python, ContentDatePickerAvailableTime). Neither platform
 * has a date picker, so it becomes a numbered list of times (§8); each time counts as a choice.
 */
function readDatePicker(item: Record<string, unknown>, draft: MessageDraft): string | undefined {
  const tooMany = addChoices(draft, listLength((item.datePicker as { availableTimes?: unknown } | undefined)?.availableTimes));
  if (tooMany !== undefined) return tooMany;
  const parsed = datePickerSchema.safeParse(item.datePicker);
  if (!parsed.success) return MALFORMED;
  const times = parsed.data.availableTimes.map((raw) => availableTimeSchema.safeParse(raw));
  if (times.some((time) => !time.success)) return MALFORMED;
  const lines = [parsed.data.title, parsed.data.subtitle].filter((line): line is string => Boolean(line?.trim()));
  times.forEach((time, i) => {
    const { dateTime, duration } = time.data!;
    lines.push(`${i + 1}. ${isoOrAsIs(dateTime)}${duration !== undefined ? ` (${formatDuration(duration)})` : ''}`);
  });
  draft.textParts.push(lines.join('\n'));
  draft.structured = true;
  return undefined;
}

function isoOrAsIs(dateTime: string): string {
  const at = Date.parse(dateTime);
  return Number.isNaN(at) ? dateTime : new Date(at).toISOString();
}

function formatDuration(seconds: number): string {
  return seconds % 60 === 0 ? `${seconds / 60} min` : `${seconds} s`;
}

const templateParametersSchema = lenient(z.array(z.looseObject({ name: lenient(z.string()), text: z.string() })));
type TemplateParameters = z.output<typeof templateParametersSchema>;

const templateSchema = z.looseObject({
  header: lenient(z.looseObject({ text: lenient(z.string()), parameters: templateParametersSchema })),
  body: z.looseObject({ text: z.string(), parameters: templateParametersSchema }),
  buttons: lenient(z.array(z.looseObject({ text: lenient(z.string()), url: lenient(z.string()) }))),
  footer: lenient(z.looseObject({ text: lenient(z.string()) })),
});

/**
 * `{template:{header?, body:{text, parameters}, buttons?, footer?}}` (Appendix A, ConversationContentNotificationTemplate),
 * rendered as text in the template's own order: header, body, buttons, footer. Genesys may also put the rendered
 * body in `text` (https://github.com/gildas/go-gcloudcx testdata/openmessaging-outbound-notification.json): that
 * line is then replaced by the whole template, in place, so the body is neither repeated nor read before its
 * header. Its buttons count as choices.
 */
function readNotification(item: Record<string, unknown>, draft: MessageDraft): string | undefined {
  const template = item.template as { header?: { parameters?: unknown }; body?: { parameters?: unknown }; buttons?: unknown } | undefined;
  const parameterCount = Math.max(listLength(template?.header?.parameters), listLength(template?.body?.parameters));
  if (parameterCount > MAX_LIST_ITEMS) return `a template with ${parameterCount} parameters; at most ${MAX_LIST_ITEMS} are read`;
  const tooMany = addChoices(draft, listLength(template?.buttons));
  if (tooMany !== undefined) return tooMany;
  const parsed = templateSchema.safeParse(item.template);
  if (!parsed.success) return MALFORMED;
  const { header, body, buttons, footer } = parsed.data;
  const renderedBody = fillTemplate(body.text, body.parameters);
  const lines = [
    header?.text ? fillTemplate(header.text, header.parameters) : undefined,
    renderedBody,
    ...(buttons ?? []).map((button) => [button.text, button.url].filter(Boolean).join(': ')),
    footer?.text,
  ].filter((line): line is string => Boolean(line?.trim()));
  const rendered = lines.join('\n');
  draft.structured = true;
  if (rendered === '' || draft.textParts.includes(rendered)) return undefined;
  const sameAsBody = draft.textParts.indexOf(renderedBody);
  if (sameAsBody >= 0) draft.textParts.splice(sameAsBody, 1, rendered);
  else draft.textParts.push(rendered);
  return undefined;
}

/** `{{1}}` is the first parameter, `{{name}}` the parameter named so; unknown placeholders stay visible. */
function fillTemplate(text: string, parameters: TemplateParameters): string {
  return text.replace(/\{\{\s*([^{}\s]+)\s*\}\}/g, (placeholder, key: string) => {
    const named = parameters?.find((p) => p.name === key);
    const positional = /^\d+$/.test(key) ? parameters?.[Number(key) - 1] : undefined;
    return (named ?? positional)?.text ?? placeholder;
  });
}
