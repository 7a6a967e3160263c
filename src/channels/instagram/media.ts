/**
 * Instagram media for Genesys: a customer's image, video, voice note or file is a signed Meta CDN link that expires,
 * has no extension and must not be kept (instagram-messaging.md key fact 30, §8). The parser names it by a
 * reference; Genesys is given the bridge's /media link, which streams it from the CDN when Genesys fetches it, and the
 * MIME type the CDN answers is what Genesys is told.
 *
 * The reference is signed by the bridge, but its URL came from a webhook: it is fetched through the guarded fetch
 * (core/media.ts) on Meta's media hosts only, over HTTPS and on public addresses, plus what the operator lists in
 * `media.allowedOrigins`; redirects (lookaside.fbsbx.com answers with one to the CDN) are checked hop by hop.
 */
import { z } from 'zod';
import type { MediaSource } from '../../core/channel.js';
import type { MediaReference } from '../../core/events.js';
import { mediaStreamOf, MEDIA_MAX_BYTES, type MediaFetch } from '../../core/media.js';

const referenceSchema = z.object({
  platform: z.literal('instagram'),
  kind: z.enum(['image', 'video', 'audio', 'file']),
  url: z.url(),
});

/** The hosts Meta serves messaging media from: the signed lookaside links and the CDNs they lead to (§8). */
export const META_MEDIA_HOSTS = ['.fbsbx.com', '.fbcdn.net', '.cdninstagram.com'] as const;
const MAX_REDIRECTS = 3;
/** Streaming to Genesys: a video of up to 25 MB. */
const STREAM_DEADLINE_MS = 60_000;
/** Asking for the type holds up the message: never for long (the guess stays). */
const PROBE_DEADLINE_MS = 3_000;

export interface InstagramMedia {
  media: MediaSource;
  /** The MIME type the CDN serves this media with; undefined when it cannot tell (the parser's guess stays). */
  mediaMime(reference: MediaReference): Promise<string | undefined>;
}

export function instagramMedia(mediaFetch: MediaFetch): InstagramMedia {
  /** The one place that fetches a Meta CDN URL. */
  const get = (reference: MediaReference, deadlineMs: number) => {
    const parsed = referenceSchema.safeParse(reference);
    if (!parsed.success) return Promise.reject(new Error('not an Instagram media reference'));
    return mediaFetch({ url: parsed.data.url, allowHosts: META_MEDIA_HOSTS, deadlineMs, maxBytes: MEDIA_MAX_BYTES, maxRedirects: MAX_REDIRECTS });
  };
  return {
    async media(reference) {
      const response = await get(reference, STREAM_DEADLINE_MS);
      return mediaStreamOf(response);
    },
    async mediaMime(reference) {
      const response = await get(reference, PROBE_DEADLINE_MS).catch(() => undefined);
      if (!response) return undefined;
      await response.body.cancel().catch(() => undefined);
      return response.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase() || undefined;
    },
  };
}
