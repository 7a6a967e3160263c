/**
 * The content of one TikTok DM (`im_receive_msg`, `im_send_msg`) → what the agent sees: text, media, shares,
 * stickers, cards (tiktok-messaging.md §5). Pure.
 */
import type { InboundAttachment } from '../../core/events.js';
import { definedOnly, httpUrl, nonEmpty } from './parse-context.js';
import { templateSchema, type TikTokDmContent } from './schema.js';

/** Shown instead of content TikTok does not deliver to the API: the agent never gets an empty message. */
export const UNSHOWABLE_TEXT = '[the customer sent something TikTok cannot show here]';

/** One agent-visible message: text and/or one attachment, with what it is and whether it opens the window. */
export interface Part {
  subtype: string;
  text?: string;
  attachment?: InboundAttachment;
  attributes?: Record<string, string>;
}

export function partOf(content: TikTokDmContent): Part {
  const type = content.type;
  const body = nonEmpty(content.text?.body);
  switch (type) {
    case 'text':
      if (body === undefined) return { subtype: 'empty', text: UNSHOWABLE_TEXT };
      return { subtype: content.reply_source_payload ? 'button_reply' : 'text', text: body };
    case 'image':
    case 'video':
      return mediaPartOf(type, content);
    case 'share_post': {
      const videoId = content.share_post?.video_id;
      const url = httpUrl(content.share_post?.embed_url);
      const text = url ? `🔗 shared a TikTok video: ${url}` : videoId ? `🔗 shared a TikTok video (id ${videoId})` : '🔗 shared a TikTok video';
      return { subtype: type, text, attributes: definedOnly({ 'dmbridge.tiktok.videoId': videoId }) };
    }
    case 'sticker': {
      // Sticker URLs expire after ~30 days (`x-expires`) and their format is unknown (webp/gif/png), so a link
      // in the text rather than an attachment Genesys might refuse or lose the message over (§9).
      const url = httpUrl(content.sticker?.url);
      return { subtype: type, text: url ? `[sticker] ${url}` : '[sticker]' };
    }
    case 'emoji': {
      const emoji = nonEmpty(content.emoji?.emoji) ?? nonEmpty(content.emoji?.text);
      const url = httpUrl(content.emoji?.url);
      return { subtype: type, text: emoji ?? (url ? `[emoji] ${url}` : '[emoji]') };
    }
    case 'template':
      // A tap comes with `reply_source_payload` (§3); without one, the card itself is what arrived (seen in captured
      // traffic: a qa_button_card with its title and buttons): the agent reads the card, not a tap that never was.
      if (content.reply_source_payload) return { subtype: type, text: body ?? clickedButtonTitle(content) ?? '🔘 tapped a button' };
      return { subtype: type, text: body ?? cardText(content.template) ?? UNSHOWABLE_TEXT };
    default:
      return {
        subtype: 'unsupported',
        text: UNSHOWABLE_TEXT,
        attributes: definedOnly({ 'dmbridge.tiktok.messageType': type?.slice(0, 40) }),
      };
  }
}

/**
 * Inbound image/video: TikTok serves the bytes only through media/download with the business token (key
 * fact 25), so the attachment carries a reference for the worker to turn into a bridge URL; `url` stays empty.
 */
function mediaPartOf(type: 'image' | 'video', content: TikTokDmContent): Part {
  const mediaId = content[type]?.media_id;
  if (mediaId === undefined) return { subtype: type, text: UNSHOWABLE_TEXT };
  const image = type === 'image';
  return {
    subtype: type,
    attachment: {
      mediaType: image ? 'Image' : 'Video',
      url: '',
      // Best guesses: TikTok does not say; the bridge's /media route sets the real type from the download.
      mime: image ? 'image/jpeg' : 'video/mp4',
      reference: {
        platform: 'tiktok',
        conversationId: content.conversation_id,
        messageId: content.message_id,
        mediaId,
        mediaType: image ? 'IMAGE' : 'VIDEO',
      },
    },
  };
}

/** The title of the card button whose id the click names, when the card came along. */
/**
 * A Q&A card as text: `🔘 a card: <title>` and its options, one element after the other (§5: `elements[{title,
 * buttons[{text, type, id}]}]`). Undefined when it has neither title nor options.
 */
function cardText(raw: unknown): string | undefined {
  const template = templateSchema.safeParse(raw);
  if (!template.success) return undefined;
  const blocks = (template.data.elements ?? []).flatMap((element) => {
    const title = nonEmpty(element.title);
    const options = (element.buttons ?? []).flatMap((b) => (nonEmpty(b.text) ? [b.text!] : []));
    if (title === undefined && options.length === 0) return [];
    return [[`🔘 a card${title ? `: ${title}` : ''}`, ...(options.length > 0 ? [`Options: ${options.join(' · ')}`] : [])].join('\n')];
  });
  return blocks.length > 0 ? blocks.join('\n') : undefined;
}

/**
 * What a message the brand sent was, for the note the agent reads when it was not sent through the bridge: the text
 * is carried separately; this names the rest (a card with its options, an image, a shared video).
 */
export function describeSentContent(content: TikTokDmContent): string | undefined {
  if (content.type === 'text') return undefined;
  if (content.type === 'template') return cardText(content.template);
  if (content.type === 'image') return '🖼️ an image';
  if (content.type === 'video') return '🎬 a video';
  if (content.type === 'share_post' || content.type === 'sticker' || content.type === 'emoji') return partOf(content).text;
  return undefined;
}

function clickedButtonTitle(content: TikTokDmContent): string | undefined {
  const id = content.reply_source_payload?.reply_source_unique_id;
  const template = templateSchema.safeParse(content.template);
  if (id === undefined || !template.success) return undefined;
  for (const element of template.data.elements ?? []) {
    for (const button of element.buttons ?? []) if (button.id === id && nonEmpty(button.text)) return button.text;
  }
  return undefined;
}

