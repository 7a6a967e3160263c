/**
 * Outbound command (src/core/commands.ts) → Instagram Send API bodies, in the order they must be sent. Pure: no
 * I/O, no clock. Protocol facts: docs/protocols/instagram-messaging.md §4 (cited below as §n).
 */
import { withLinks, type OutboundAttachment, type OutboundCard, type OutboundMessageCommand, type OutboundOption } from '../../core/commands.js';
import { PermanentError } from '../../core/errors.js';
import { splitText as splitToLimit } from '../../core/split-text.js';

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
export function buildInstagramSendRequests(command: OutboundMessageCommand, opts: SendOptions): GraphSendBody[] {
  const structured = fitStructuredContent(command);
  const prompt = structured ? command.text : (command.fallbackText ?? command.text);
  const texts: GraphTextMessage[] = splitText(withLinks(prompt, command.attachments))
    .filter((text) => text.trim() !== '')
    .map((text) => ({ text }));
  const last = texts.at(-1);
  if (structured?.quickReplies && last) last.quick_replies = structured.quickReplies;
  const media = command.attachments.filter((a) => a.mediaType !== 'Link').map((a) => ({ attachment: toMediaAttachment(a, opts.mediaUrl) }));

  const messages: GraphSendBody['message'][] = structured?.quickReplies ? [...media, ...texts] : [...texts, ...media];
  if (structured?.template) messages.push({ attachment: structured.template });
  if (messages.length === 0) {
    throw new PermanentError('The message had no text or attachment Instagram can show, so nothing was sent.', {
      reason: 'InvalidMessageStructure',
    });
  }
  return messages.map((message) => envelope(command.customerId, message, opts.tag));
}

export interface SendOptions {
  tag?: 'HUMAN_AGENT';
  /**
   * The URL Meta is to fetch an agent's attachment from: Genesys's own link wants the bridge's token, so it is a
   * bridge /media link (AgentAttachments.link); throws PermanentError for an attachment the bridge may not fetch.
   */
  mediaUrl(url: string): string;
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

/** Media by URL: Meta fetches it (§4.1, https://developers.facebook.com/docs/messenger-platform/instagram/features/send-message). */
function toMediaAttachment(attachment: OutboundAttachment, mediaUrl: SendOptions['mediaUrl']): GraphMediaAttachment {
  return { type: MEDIA_TYPES[attachment.mediaType as keyof typeof MEDIA_TYPES], payload: { url: mediaUrl(attachment.url) } };
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

/** Splits text into parts of at most `maxBytes` UTF-8 bytes (src/core/split-text.ts). */
export function splitText(text: string, maxBytes = TEXT_LIMIT_BYTES): string[] {
  return splitToLimit(text, { maxUtf8Bytes: maxBytes });
}
