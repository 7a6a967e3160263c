/**
 * Instagram message attachments → the parts the agent sees: media as attachments, shares, reels and stories as text
 * (instagram-messaging.md §3.1, key facts 15, 17). Pure.
 */
import type { InboundAttachment, MediaType } from '../../core/events.js';
import { labelled } from './parse-context.js';
import { attachmentSchema, sentTemplateSchema, type InstagramAttachment } from './schema.js';

/** Shown instead of content Instagram does not deliver to the API: the agent never gets an empty message. */
export const UNSHOWABLE_TEXT = '[the customer sent something Instagram cannot show here]';
const EPHEMERAL_TEXT = '[disappearing photo or video – Instagram does not share it]';

/** One agent-visible piece of a message: a line of text and/or one attachment. */
export interface Part {
  subtype: string;
  text?: string;
  attachment?: InboundAttachment;
}

/** A malformed attachment still becomes a placeholder part: the customer did send something. */
export function parseAttachment(raw: unknown): InstagramAttachment | undefined {
  const parsed = attachmentSchema.safeParse(raw);
  return parsed.success ? parsed.data : undefined;
}

/**
 * Since 2025-11-03 a shared post arrives as `share` plus `ig_post` (same post); `share` for posts is being
 * removed. Keep the `ig_post` and drop the `share` that duplicates it (same media id, or no media id at all).
 * https://developers.facebook.com/docs/instagram-platform/webhooks/new
 */
export function collapsePostShares(attachments: Array<InstagramAttachment | undefined>): Array<InstagramAttachment | undefined> {
  const postIds = new Set(attachments.filter((a) => a?.type === 'ig_post').map((a) => a?.payload?.ig_post_media_id));
  if (postIds.size === 0) return attachments;
  return attachments.filter((a) => {
    if (a?.type !== 'share') return true;
    const mediaId = a.payload?.ig_post_media_id;
    return mediaId !== undefined && !postIds.has(mediaId);
  });
}

/** Attachment types whose content the API does not deliver (instagram-messaging.md key fact 15). */
const UNSHOWABLE_TYPES = new Set(['ig_story', 'unsupported_type', 'template', 'fallback']);

export function partOfAttachment(attachment: InstagramAttachment | undefined): Part {
  const type = attachment?.type;
  const url = attachment?.payload?.url;
  switch (type) {
    case 'image':
    case 'video':
    case 'audio':
    case 'file':
      return mediaPartOf(type, url);
    case 'share':
    case 'ig_post':
      return { subtype: type, text: labelled('🔗 shared a post', attachment?.payload?.title, url) };
    case 'ig_reel':
    case 'reel':
      return { subtype: type, text: labelled('🎬 shared a reel', attachment?.payload?.title, url) };
    case 'story_mention':
      // Story media lives 24 h and must not be stored: the URL goes to the agent as text, never as an attachment.
      // https://developers.facebook.com/docs/messenger-platform/instagram/features/story-mention
      return { subtype: type, text: labelled('📣 mentioned you in their story', url) };
    case 'ephemeral':
      return { subtype: type, text: EPHEMERAL_TEXT };
    case 'like_heart':
      return { subtype: type, text: '❤️' };
    default:
      return { subtype: type && UNSHOWABLE_TYPES.has(type) ? type : 'unknown_attachment', text: UNSHOWABLE_TEXT };
  }
}

export type MediaKind = 'image' | 'video' | 'audio' | 'file';

const MEDIA_KINDS: Record<MediaKind, { mediaType: MediaType; defaultMime: string }> = {
  image: { mediaType: 'Image', defaultMime: 'image/jpeg' },
  video: { mediaType: 'Video', defaultMime: 'video/mp4' },
  audio: { mediaType: 'Audio', defaultMime: 'audio/mp4' },
  file: { mediaType: 'File', defaultMime: 'application/octet-stream' },
};

const MIME_BY_EXTENSION: Record<string, string> = {
  jpg: 'image/jpeg', jpeg: 'image/jpeg', png: 'image/png', gif: 'image/gif', webp: 'image/webp', heic: 'image/heic',
  mp4: 'video/mp4', mov: 'video/quicktime', webm: 'video/webm', avi: 'video/x-msvideo',
  m4a: 'audio/mp4', aac: 'audio/aac', mp3: 'audio/mpeg', wav: 'audio/wav', ogg: 'audio/ogg',
  pdf: 'application/pdf',
};

/**
 * A media part; without a usable http(s) URL it degrades to the placeholder text. The CDN link is signed, expires
 * and has no extension (key fact 30), and Meta forbids keeping the media (§8): Genesys is given a link to the
 * bridge's own /media route instead, which streams it from the CDN when fetched (./media.ts), and the MIME type the
 * CDN answers replaces this part's guess before Genesys sees it. `url` stays empty until then.
 */
function mediaPartOf(kind: MediaKind, rawUrl: string | undefined): Part {
  const url = rawUrl !== undefined && URL.canParse(rawUrl) ? new URL(rawUrl) : undefined;
  if (url === undefined || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    return { subtype: kind, text: UNSHOWABLE_TEXT };
  }
  const filename = filenameOf(url);
  const attachment: InboundAttachment = {
    mediaType: MEDIA_KINDS[kind].mediaType,
    url: '',
    reference: { platform: 'instagram', kind, url: url.href },
    mime: mimeOf(kind, filename),
  };
  if (filename !== undefined) attachment.filename = filename;
  return { subtype: kind, attachment };
}

/**
 * The best guess until the CDN says: links (`/ig_messaging_cdn/?asset_id=…`) usually have no extension, hence the
 * per-type default. An extension of another family is ignored (voice notes are `.mp4` files: still audio/mp4).
 */
function mimeOf(kind: MediaKind, filename: string | undefined): string {
  const extension = filename?.slice(filename.lastIndexOf('.') + 1).toLowerCase();
  const guessed = extension === undefined ? undefined : MIME_BY_EXTENSION[extension];
  const family = guessed?.split('/')[0];
  return guessed !== undefined && (kind === 'file' || family === kind) ? guessed : MEDIA_KINDS[kind].defaultMime;
}

/** The last path segment, when it looks like a file name (has an extension). */
function filenameOf(url: URL): string | undefined {
  const last = url.pathname.slice(url.pathname.lastIndexOf('/') + 1);
  if (!/\.[A-Za-z0-9]{1,8}$/.test(last)) return undefined;
  try {
    return decodeURIComponent(last);
  } catch {
    return last;
  }
}

/**
 * What a message the brand sent was, for the note the agent reads when it was not sent through the bridge (an
 * echo): reels, posts and cards with their title and link, media by kind only (their links expire). Undefined when
 * there was no attachment.
 */
export function describeSentAttachments(attachments: readonly unknown[] | undefined): string | undefined {
  const lines = (attachments ?? []).map((raw) => describeSent(raw, parseAttachment(raw)));
  return lines.length > 0 ? lines.join('\n') : undefined;
}

const SENT_MEDIA: Record<string, string> = { image: '🖼️ an image', video: '🎬 a video', audio: '🎤 a voice message', file: '📄 a file' };

function describeSent(raw: unknown, attachment: InstagramAttachment | undefined): string {
  const type = attachment?.type ?? '';
  const { title, url } = attachment?.payload ?? {};
  if (Object.hasOwn(SENT_MEDIA, type)) return SENT_MEDIA[type]!;
  if (type === 'ig_reel' || type === 'reel') return labelled('🎬 a reel', title, url);
  if (type === 'share' || type === 'ig_post') return labelled('🔗 a post', title, url);
  if (type === 'template') {
    const payload = sentTemplateSchema.safeParse((raw as { payload?: unknown } | null)?.payload);
    const card = payload.success ? payload.data : {};
    const elements = card.elements ?? card.generic?.elements ?? [];
    const titles = card.title ?? elements.flatMap((e) => (e.title ? [e.title] : [])).join(' / ');
    const link = card.url ?? elements.map((e) => e.url ?? e.default_action?.url ?? e.buttons?.find((b) => b.url)?.url).find((u) => u !== undefined);
    return labelled('🃏 a card', titles || undefined, link);
  }
  return '📎 an attachment';
}
