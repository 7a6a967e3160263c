/**
 * Outbound command (src/core/commands.ts) → Instagram Send API bodies, in the order they must be sent. Pure: no
 * I/O, no clock. Protocol facts: /work/shared/reference/instagram-messaging.md §4 (cited below as §n).
 */
import type { OutboundAttachment, OutboundCard, OutboundMessageCommand, OutboundOption } from '../../core/commands.js';
import { PermanentError } from '../../core/errors.js';

export type GraphMessagingType = 'RESPONSE' | 'MESSAGE_TAG';

export interface GraphQuickReply {
  content_type: 'text';
  title: string;
  payload: string;
}

export interface GraphTextMessage {
  text: string;
  quick_replies?: GraphQuickReply[];
}

export interface GraphMediaAttachment {
  type: 'image' | 'video' | 'audio' | 'file';
  payload: { url: string };
}

export type GraphButton = { type: 'web_url'; title: string; url: string } | { type: 'postback'; title: string; payload: string };

export interface GraphTemplateElement {
  title: string;
  subtitle?: string;
  image_url?: string;
  buttons?: GraphButton[];
}

export interface GraphTemplateAttachment {
  type: 'template';
  payload: { template_type: 'generic'; elements: GraphTemplateElement[] };
}

/** One Send API call carrying a message (§4.1). JSON-serialisable. */
export interface GraphSendBody {
  recipient: { id: string };
  messaging_type: GraphMessagingType;
  tag?: 'HUMAN_AGENT';
  message: GraphTextMessage | { attachment: GraphMediaAttachment | GraphTemplateAttachment };
}

/** A sender action: `recipient` and `sender_action` only, nothing else in the body (§4.1). */
export interface TypingBody {
  recipient: { id: string };
  sender_action: 'typing_on';
}

/** Text limit: 1000 bytes of UTF-8 (https://developers.facebook.com/docs/messenger-platform/instagram/features/send-message). */
const TEXT_LIMIT_BYTES = 1000;
/** ≤ 13 quick replies, titles ≤ 20 characters, plain text only (https://developers.facebook.com/docs/messenger-platform/instagram/features/quick-replies). */
const MAX_QUICK_REPLIES = 13;
const QUICK_REPLY_TITLE_CHARS = 20;
/** ≤ 10 elements, title and subtitle ≤ 80 characters, ≤ 3 buttons (https://developers.facebook.com/docs/instagram-messaging/generic-template). */
const MAX_CARDS = 10;
const CARD_TEXT_CHARS = 80;
const MAX_CARD_BUTTONS = 3;

const MEDIA_TYPES: Record<Exclude<OutboundAttachment['mediaType'], 'Link'>, GraphMediaAttachment['type']> = {
  Image: 'image',
  Video: 'video',
  Audio: 'audio',
  File: 'file',
};

/**
 * The Send API bodies for one agent message, in order: the text (split to the byte limit), each attachment as its
 * own call (text and attachments are separate calls on Instagram, §4.1 — Courier does the same), then the cards
 * as one generic template. Quick replies ride on the last text part and appear above the composer
 * (https://developers.facebook.com/docs/messenger-platform/send-messages/quick-replies/), so that text goes after
 * the attachments when there are quick replies: they stay with the latest message. Structured content that breaks Instagram's
 * limits is sent as the command's `fallbackText` instead. Throws PermanentError when nothing is sendable.
 */
export function buildInstagramSendRequests(command: OutboundMessageCommand, opts: { tag?: 'HUMAN_AGENT' }): GraphSendBody[] {
  const structured = fitStructuredContent(command);
  const prompt = structured ? command.text : (command.fallbackText ?? command.text);
  const texts: GraphTextMessage[] = splitText(withLinks(prompt, command.attachments))
    .filter((text) => text.trim() !== '')
    .map((text) => ({ text }));
  const last = texts.at(-1);
  if (structured?.quickReplies && last) last.quick_replies = structured.quickReplies;
  const media = command.attachments.filter((a) => a.mediaType !== 'Link').map((a) => ({ attachment: toMediaAttachment(a) }));

  const messages: GraphSendBody['message'][] = structured?.quickReplies ? [...media, ...texts] : [...texts, ...media];
  if (structured?.template) messages.push({ attachment: structured.template });
  if (messages.length === 0) {
    throw new PermanentError('The message had no text or attachment Instagram can show, so nothing was sent.', {
      reason: 'InvalidMessageStructure',
    });
  }
  return messages.map((message) => envelope(command.customerId, message, opts.tag));
}

interface StructuredContent {
  quickReplies?: GraphQuickReply[];
  template?: GraphTemplateAttachment;
}

/** Quick replies and cards in Instagram's own form; undefined when any of it breaks Instagram's limits. */
function fitStructuredContent(command: OutboundMessageCommand): StructuredContent | undefined {
  const content: StructuredContent = {};
  if (command.quickReplies?.length) {
    // Quick replies ride on a non-empty text (https://developers.facebook.com/docs/messenger-platform/reference/buttons/quick-replies).
    const quickReplies = command.text?.trim() ? toQuickReplies(command.quickReplies) : undefined;
    if (!quickReplies) return undefined;
    content.quickReplies = quickReplies;
  }
  if (command.cards?.length) {
    const template = toGenericTemplate(command.cards);
    if (!template) return undefined;
    content.template = template;
  }
  return content;
}

/** Typing indicator; shown only while the customer is signed in, for about 20 s (https://developers.facebook.com/docs/messenger-platform/instagram/features/sender-actions). */
export function buildTypingRequest(customerId: string): TypingBody {
  return { recipient: { id: customerId }, sender_action: 'typing_on' };
}

/**
 * HUMAN_AGENT goes on every part (`messaging_type: MESSAGE_TAG`), else `RESPONSE`: each call is checked against
 * the window on its own (https://developers.facebook.com/docs/messenger-platform/send-messages/message-tags).
 */
function envelope(customerId: string, message: GraphSendBody['message'], tag: 'HUMAN_AGENT' | undefined): GraphSendBody {
  const recipient = { id: customerId };
  return tag ? { recipient, messaging_type: 'MESSAGE_TAG', tag, message } : { recipient, messaging_type: 'RESPONSE', message };
}

/** Instagram has no link attachment: Genesys `Link` media become lines of text after the message. */
function withLinks(text: string | undefined, attachments: OutboundAttachment[]): string {
  const links = attachments.filter((a) => a.mediaType === 'Link').map((a) => a.url);
  return [text, ...links].filter((part): part is string => part !== undefined && part !== '').join('\n\n');
}

/** Media by URL: Meta fetches it (§4.1, https://developers.facebook.com/docs/messenger-platform/instagram/features/send-message). */
function toMediaAttachment(attachment: OutboundAttachment): GraphMediaAttachment {
  return { type: MEDIA_TYPES[attachment.mediaType as keyof typeof MEDIA_TYPES], payload: { url: attachment.url } };
}

/** Undefined when the options break Instagram's quick-reply limits (then the fallback text is sent). */
function toQuickReplies(options: OutboundOption[]): GraphQuickReply[] | undefined {
  const fits =
    options.length <= MAX_QUICK_REPLIES &&
    options.every((o) => o.url === undefined && o.text.trim() !== '' && [...o.text].length <= QUICK_REPLY_TITLE_CHARS);
  return fits ? options.map((o) => ({ content_type: 'text', title: o.text, payload: o.payload || o.text })) : undefined;
}

/** Undefined when the cards break the generic template's limits (then the fallback text is sent). */
function toGenericTemplate(cards: OutboundCard[]): GraphTemplateAttachment | undefined {
  if (cards.length > MAX_CARDS) return undefined;
  const elements = cards.map(toTemplateElement);
  if (!elements.every((e): e is GraphTemplateElement => e !== undefined)) return undefined;
  return { type: 'template', payload: { template_type: 'generic', elements } };
}

function toTemplateElement(card: OutboundCard): GraphTemplateElement | undefined {
  const fitsText = (s: string | undefined) => s === undefined || [...s].length <= CARD_TEXT_CHARS;
  if (card.title.trim() === '' || !fitsText(card.title) || !fitsText(card.description)) return undefined;
  if (card.actions.length > MAX_CARD_BUTTONS) return undefined;
  const buttons = card.actions.map(toButton);
  if (!buttons.every((b): b is GraphButton => b !== undefined)) return undefined;
  return {
    title: card.title,
    ...(card.description ? { subtitle: card.description } : {}),
    ...(card.imageUrl ? { image_url: card.imageUrl } : {}),
    ...(buttons.length > 0 ? { buttons } : {}),
  };
}

/** Only `web_url` and `postback` buttons exist on Instagram (https://developers.facebook.com/docs/instagram-messaging/generic-template). */
function toButton(action: OutboundOption): GraphButton | undefined {
  if (action.url) return { type: 'web_url', title: action.text, url: action.url };
  if (action.payload) return { type: 'postback', title: action.text, payload: action.payload };
  return undefined;
}

// ---- text splitting ----

/** A break is preferred when it falls in the last fifth of a full part. */
const PREFERRED_BREAK_SHARE = 0.2;

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
const words = new Intl.Segmenter(undefined, { granularity: 'word' });
const sentences = new Intl.Segmenter(undefined, { granularity: 'sentence' });

/**
 * Splits text into parts of at most `maxBytes` UTF-8 bytes whose concatenation is exactly the input. Parts end
 * on grapheme boundaries (never inside an emoji ZWJ sequence, a flag or a combining sequence), preferably after a
 * paragraph, a line, a sentence or a word when one falls in the last 20 % of the part; the whitespace at a
 * break stays at the end of the earlier part. Only a single grapheme larger than `maxBytes` is cut (between code
 * points), since it cannot be sent whole.
 */
export function splitText(text: string, maxBytes = TEXT_LIMIT_BYTES): string[] {
  if (Buffer.byteLength(text, 'utf8') <= maxBytes) return text === '' ? [] : [text];
  const offsets = graphemeByteOffsets(text);
  const tiers = breakTiers(text);
  const parts: string[] = [];
  let start = 0;
  while (start < text.length) {
    const end = partEnd(text, start, maxBytes, offsets, tiers);
    parts.push(text.slice(start, end));
    start = end;
  }
  return parts;
}

/** UTF-16 index of every grapheme boundary → UTF-8 bytes before it. */
function graphemeByteOffsets(text: string): Map<number, number> {
  const offsets = new Map<number, number>([[0, 0]]);
  let bytes = 0;
  for (const { segment, index } of graphemes.segment(text)) {
    bytes += Buffer.byteLength(segment, 'utf8');
    offsets.set(index + segment.length, bytes);
  }
  return offsets;
}

/** Candidate break indices, best kind first: paragraph, line, sentence, word. */
function breakTiers(text: string): Array<Set<number>> {
  return [
    afterMatches(text, /\n[^\S\n]*\n\s*/g),
    afterMatches(text, /\n\s*/g),
    new Set([...sentences.segment(text)].map((s) => s.index)),
    wordBreaks(text),
  ];
}

function afterMatches(text: string, pattern: RegExp): Set<number> {
  return new Set([...text.matchAll(pattern)].map((m) => m.index + m[0].length));
}

/** After whitespace, or between two words (CJK text has no spaces); never before punctuation or after a bracket. */
function wordBreaks(text: string): Set<number> {
  const breaks = new Set<number>();
  let previous: Intl.SegmentData | undefined;
  for (const segment of words.segment(text)) {
    if (previous && (/^\s+$/.test(previous.segment) || (previous.isWordLike && segment.isWordLike))) breaks.add(segment.index);
    previous = segment;
  }
  return breaks;
}

/** Where the part starting at `start` ends: the best preferred break near the byte limit, else the limit. */
function partEnd(text: string, start: number, maxBytes: number, offsets: Map<number, number>, tiers: Array<Set<number>>): number {
  const startBytes = offsets.get(start) ?? 0;
  let limit = start;
  for (let i = start + 1; i <= text.length; i++) {
    const bytes = offsets.get(i);
    if (bytes === undefined) continue;
    if (bytes - startBytes > maxBytes) break;
    limit = i;
  }
  if (limit === start) return codePointCut(text, start, maxBytes);
  if (limit === text.length) return limit;
  const preferredFrom = startBytes + maxBytes * (1 - PREFERRED_BREAK_SHARE);
  for (const tier of tiers) {
    for (let i = limit; i > start && (offsets.get(i) ?? Infinity) >= preferredFrom; i--) {
      if (tier.has(i) && offsets.has(i)) return i;
    }
  }
  return limit;
}

/** A single grapheme over the limit (hundreds of combining marks): cut it between code points. */
function codePointCut(text: string, start: number, maxBytes: number): number {
  let end = start;
  let bytes = 0;
  for (const cp of text.slice(start)) {
    bytes += Buffer.byteLength(cp, 'utf8');
    if (bytes > maxBytes) break;
    end += cp.length;
  }
  return end;
}
