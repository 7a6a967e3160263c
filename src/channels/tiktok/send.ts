/**
 * Outbound command (src/core/commands.ts) → TikTok Business Messaging send steps, in the order they must be sent.
 * Pure: no I/O, no clock. Protocol facts: docs/protocols/tiktok-messaging.md §3 and key facts 7-10, 26.
 *
 * A step is either one `POST /business/message/send/` body, or an image the client must first download from
 * Genesys and upload to TikTok (only an uploaded `media_id` can be sent, key fact 26) before sending it as IMAGE.
 * Every step is one TikTok message, and each counts against the 10 / 3 message caps (key fact 12).
 */
import { withLinks, type OutboundAttachment, type OutboundMessageCommand, type OutboundOption } from '../../core/commands.js';
import { PermanentError } from '../../core/errors.js';
import { splitText } from '../../core/split-text.js';

interface Recipient {
  business_id: string;
  /** Replies target the conversation, never the user (key fact 7). */
  recipient_type: 'CONVERSATION';
  recipient: string;
}

export interface TikTokButton {
  type: 'REPLY';
  title: string;
  id: string;
}

export type TikTokSendBody =
  | (Recipient & { message_type: 'TEXT'; text: { body: string } })
  | (Recipient & { message_type: 'IMAGE'; image: { media_id: string } })
  | (Recipient & { message_type: 'TEMPLATE'; template: { type: 'QA_BUTTON_CARD'; title: string; buttons: TikTokButton[] } })
  | (Recipient & { message_type: 'SENDER_ACTION'; sender_action: 'TYPING' | 'MARK_READ' });

export type TikTokSendStep =
  | { kind: 'send'; body: TikTokSendBody }
  /** Download `url` (a Genesys attachment), upload it, send it as IMAGE (TikTokClient.sendImageFromUrl). */
  | { kind: 'image'; url: string; mime?: string; filename?: string };

export interface TikTokSendOptions {
  businessId: string;
  /** The TikTok conversation id (ConversationState.threadId), base64-like: sent as is in JSON. */
  conversationId: string;
}

/** "6000 characters including spaces and emoji" (key fact 9). Counted in UTF-16 code units, the strictest
 * reading (an emoji is 2, a ZWJ family up to 11), so no count TikTok might use can exceed it. */
export const TIKTOK_TEXT_LIMIT = 6000;
/** QA_BUTTON_CARD: title ≤ 40, 1–3 buttons, button title ≤ 20, id ≤ 40, one card only (§3). */
const CARD_TITLE_CHARS = 40;
const MAX_BUTTONS = 3;
const BUTTON_TITLE_CHARS = 20;
const BUTTON_ID_CHARS = 40;
/** JPG/PNG ≤ 3 MB (key fact 26; Chatwoot's "JPEG, WebP, 20 MB" is unconfirmed, so the stricter rule holds). */
export const TIKTOK_IMAGE_MAX_BYTES = 3 * 1024 * 1024;
export const TIKTOK_IMAGE_MIMES: ReadonlySet<string> = new Set(['image/jpeg', 'image/jpg', 'image/png']);

export const TIKTOK_MEDIA_REFUSED =
  'TikTok only accepts JPG or PNG images up to 3 MB in messages; it cannot carry video, audio or other files';

/**
 * The steps for one agent message: the text (links appended, split to 6000 characters), then each image, then the quick replies as one QA_BUTTON_CARD whose title is the prompt — last, so its
 * buttons stay on the newest message. Quick replies that break the card's limits, and all cards (TikTok has no
 * carousel), are sent as the command's `fallbackText`. Throws PermanentError before anything is sent when an
 * attachment cannot go to TikTok (video, audio, file, a non-JPG/PNG image, over 3 MB) or nothing is sendable.
 */
export function buildTikTokSendRequests(command: OutboundMessageCommand, opts: TikTokSendOptions): TikTokSendStep[] {
  const images = command.attachments.filter((a) => a.mediaType !== 'Link').map(toImageStep);
  const card = command.cards?.length ? undefined : toQuestionCard(command);
  const prompt = card ? undefined : command.quickReplies?.length || command.cards?.length ? (command.fallbackText ?? command.text) : command.text;
  const recipient: Recipient = { business_id: opts.businessId, recipient_type: 'CONVERSATION', recipient: opts.conversationId };

  const texts: TikTokSendStep[] = splitTikTokText(withLinks(prompt, command.attachments))
    .filter((text) => text.trim() !== '')
    .map((body) => ({ kind: 'send', body: { ...recipient, message_type: 'TEXT', text: { body } } }));
  const steps: TikTokSendStep[] = [...texts, ...images];
  if (card) steps.push({ kind: 'send', body: { ...recipient, message_type: 'TEMPLATE', template: card } });
  if (steps.length === 0) {
    throw new PermanentError('The message had no text or image TikTok can show, so nothing was sent.', { reason: 'InvalidMessageStructure' });
  }
  return steps;
}

/** TYPING shows about 5 s and cannot be stopped (§3). Whether it counts against the 10 / 3 caps is unconfirmed. */
export function buildTikTokTyping(businessId: string, conversationId: string): TikTokSendBody {
  return { business_id: businessId, recipient_type: 'CONVERSATION', recipient: conversationId, message_type: 'SENDER_ACTION', sender_action: 'TYPING' };
}

/** One QA_BUTTON_CARD for quick replies, titled with the prompt; undefined when anything breaks its limits. */
function toQuestionCard(command: OutboundMessageCommand): Extract<TikTokSendBody, { message_type: 'TEMPLATE' }>['template'] | undefined {
  const options = command.quickReplies;
  const title = command.text?.trim() ?? '';
  if (!options?.length || options.length > MAX_BUTTONS || title === '' || chars(title) > CARD_TITLE_CHARS) return undefined;
  const buttons = options.map(toButton);
  if (!buttons.every((b): b is TikTokButton => b !== undefined)) return undefined;
  if (new Set(buttons.map((b) => b.id)).size !== buttons.length) return undefined;
  return { type: 'QA_BUTTON_CARD', title, buttons };
}

/** A click comes back with `reply_source_unique_id` = this `id` (§3), so the Genesys payload rides in it. */
function toButton(option: OutboundOption): TikTokButton | undefined {
  const title = option.text.trim();
  const id = option.payload || option.text;
  if (option.url !== undefined || title === '' || chars(title) > BUTTON_TITLE_CHARS || id === '' || chars(id) > BUTTON_ID_CHARS) return undefined;
  return { type: 'REPLY', title, id };
}

/** Only JPG/PNG images can be sent (key facts 8, 26): anything else is refused before any call is made. */
function toImageStep(attachment: OutboundAttachment): TikTokSendStep {
  const name = attachment.filename ? ` "${attachment.filename}"` : '';
  const mime = attachment.mime?.toLowerCase().split(';')[0]?.trim();
  const extension = /\.([a-z0-9]+)$/i.exec(attachment.filename ?? '')?.[1]?.toLowerCase();
  const isImage = attachment.mediaType === 'Image';
  const knownNotJpgPng = (mime !== undefined && mime !== '' && !TIKTOK_IMAGE_MIMES.has(mime)) || (mime === undefined && extension !== undefined && !['jpg', 'jpeg', 'png'].includes(extension));
  if (!isImage || knownNotJpgPng) {
    const what = isImage ? `the image${name} is ${mime || extension}` : `the attachment${name} is ${attachment.mediaType.toLowerCase()}`;
    throw new PermanentError(`${TIKTOK_MEDIA_REFUSED} (${what}), so nothing was sent. Share it as a link or send a JPG/PNG image instead.`, {
      reason: 'MediaTypeNotAllowed',
    });
  }
  if (attachment.size !== undefined && attachment.size > TIKTOK_IMAGE_MAX_BYTES) {
    throw new PermanentError(
      `TikTok only accepts JPG or PNG images up to 3 MB in messages; the image${name} is ${(attachment.size / 1024 / 1024).toFixed(1)} MB, so nothing was sent. Send a smaller image.`,
      { reason: 'InvalidMediaContentLength' },
    );
  }
  return {
    kind: 'image',
    url: attachment.url,
    ...(attachment.mime ? { mime: attachment.mime } : {}),
    ...(attachment.filename ? { filename: attachment.filename } : {}),
  };
}

function chars(s: string): number {
  return [...s].length;
}

/** Splits text into parts of at most `max` UTF-16 code units (src/core/split-text.ts). */
export function splitTikTokText(text: string, max = TIKTOK_TEXT_LIMIT): string[] {
  return splitText(text, { maxUtf16Units: max });
}
