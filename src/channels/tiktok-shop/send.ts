/**
 * Outbound command (src/core/commands.ts) → TikTok Shop send steps, in the order they must be sent. Pure: no I/O, no
 * clock. Protocol facts: tiktok-shop.md key facts 9-10 and §3
 * (https://partner.tiktokshop.com/docv2/page/650a58bbbace3e02b7556286).
 *
 * `POST /customer_service/202309/conversations/{id}/messages` takes one item per message: `{type, content}` where
 * **`content` is a JSON string**. TEXT ≤ 2000 characters; IMAGE only with a URL from the CS image upload (jpg, gif,
 * webp, png ≤ 10 MB). There are no buttons, links, files, video or quotes, so quick replies and cards go as their
 * readable fallback text and links are written into the text. What chat cannot carry is refused before any call, as
 * a PlatformRefusal: the platform's rules, nothing for an operator to fix.
 */
import { withLinks, type OutboundAttachment, type OutboundMessageCommand } from '../../core/commands.js';
import { PlatformRefusal } from '../../core/errors.js';
import { splitText } from '../../core/split-text.js';

/** "Max 2000 characters", counted in UTF-16 code units: the strictest reading (an emoji counts 2). */
export const TTS_TEXT_LIMIT = 2000;
export const TTS_IMAGE_MAX_BYTES = 10 * 1024 * 1024;
export const TTS_IMAGE_MIMES: ReadonlySet<string> = new Set(['image/jpeg', 'image/jpg', 'image/png', 'image/gif', 'image/webp']);
const IMAGE_EXTENSIONS = new Set(['jpg', 'jpeg', 'png', 'gif', 'webp']);

export interface TikTokShopSendBody {
  type: 'TEXT' | 'IMAGE';
  /** JSON, serialised once: these exact characters are sent and signed. */
  content: string;
}

export type TikTokShopSendStep =
  | { kind: 'message'; body: TikTokShopSendBody }
  /** Download `url` (a Genesys attachment), upload it to the CS image upload, send the uploaded URL as IMAGE. */
  | { kind: 'image'; url: string; mime?: string; filename?: string };

const MEDIA_REFUSED = 'TikTok Shop chat only carries text and JPG, PNG, GIF or WebP images up to 10 MB; it cannot carry video, audio or files';

/**
 * The text (links appended, split into parts of at most 2000 characters that join back to exactly the original),
 * then each image. Quick replies and cards become the command's fallback text. Throws PlatformRefusal before
 * anything is sent when an attachment cannot go to TikTok Shop or nothing is sendable.
 */
export function buildTikTokShopSendSteps(command: OutboundMessageCommand): TikTokShopSendStep[] {
  const images = command.attachments.filter((a) => a.mediaType !== 'Link').map(toImageStep);
  const structured = Boolean(command.quickReplies?.length || command.cards?.length);
  const prompt = structured ? (command.fallbackText ?? command.text) : command.text;
  const texts: TikTokShopSendStep[] = splitTikTokShopText(withLinks(prompt, command.attachments))
    .filter((part) => part.trim() !== '')
    .map((part) => ({ kind: 'message', body: textBody(part) }));
  const steps = [...texts, ...images];
  if (steps.length === 0) throw new PlatformRefusal('The message had no text or image TikTok Shop can show, so nothing was sent.', { reason: 'InvalidMessageStructure' });
  return steps;
}

export function textBody(text: string): TikTokShopSendBody {
  return { type: 'TEXT', content: JSON.stringify({ content: text }) };
}

/** The IMAGE content names the uploaded URL and its size, as the upload returned them (§3 Send examples). */
export function imageBody(image: { url: string; width: number; height: number }): TikTokShopSendBody {
  return { type: 'IMAGE', content: JSON.stringify({ url: image.url, width: image.width, height: image.height }) };
}

/** Splits text into parts of at most `max` UTF-16 code units on safe boundaries (src/core/split-text.ts). */
export function splitTikTokShopText(text: string, max = TTS_TEXT_LIMIT): string[] {
  return splitText(text, { maxUtf16Units: max });
}

/** Only images of the four accepted types (key fact 10); anything else is refused before any call is made. */
function toImageStep(attachment: OutboundAttachment): TikTokShopSendStep {
  const name = attachment.filename ? ` "${attachment.filename}"` : '';
  const mime = attachment.mime?.toLowerCase().split(';')[0]?.trim();
  const extension = /\.([a-z0-9]+)$/i.exec(attachment.filename ?? '')?.[1]?.toLowerCase();
  const isImage = attachment.mediaType === 'Image';
  const knownOther = (mime !== undefined && mime !== '' && !TTS_IMAGE_MIMES.has(mime)) || (!mime && extension !== undefined && !IMAGE_EXTENSIONS.has(extension));
  if (!isImage || knownOther) {
    const what = isImage ? `the image${name} is ${mime || extension}` : `the attachment${name} is ${attachment.mediaType.toLowerCase()}`;
    throw new PlatformRefusal(`${MEDIA_REFUSED} (${what}), so nothing was sent. Share it as a link or send an image instead.`, { reason: 'MediaTypeNotAllowed' });
  }
  if (attachment.size !== undefined && attachment.size > TTS_IMAGE_MAX_BYTES) throw imageTooLarge(attachment.size, name);
  return {
    kind: 'image',
    url: attachment.url,
    ...(attachment.mime ? { mime: attachment.mime } : {}),
    ...(attachment.filename ? { filename: attachment.filename } : {}),
  };
}

/** `bytes` when known; a download stopped at the cap only knows the image is larger. */
export function imageTooLarge(bytes: number | undefined, name = ''): PlatformRefusal {
  const size = bytes === undefined ? 'is larger' : `is ${(bytes / 1024 / 1024).toFixed(1)} MB`;
  return new PlatformRefusal(
    `TikTok Shop only accepts images up to 10 MB in chat; the image${name} ${size}, so nothing was sent. Send a smaller image.`,
    { reason: 'InvalidMediaContentLength' },
  );
}
