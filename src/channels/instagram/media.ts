/**
 * Instagram media for Genesys: a customer's image, video, voice note or file is a signed Meta CDN link that expires,
 * has no extension and must not be kept (instagram-messaging.md key fact 30, §8). The parser names it by a
 * reference; Genesys is given the bridge's /media link, which streams it from the CDN when Genesys fetches it, and the
 * MIME type the CDN answers is what Genesys is told.
 *
 * Only Meta's media hosts are fetched (and those the connection adds in `mediaHosts`): the reference is signed by
 * the bridge, but its URL came from a webhook. Redirects (lookaside.fbsbx.com answers with one to the CDN) are
 * followed by hand, each hop checked against the same hosts. `fetchInstagramMedia` is the one place that fetches a
 * Meta CDN URL: the seam where a guarded fetch (address rules) plugs in.
 */
import { z } from 'zod';
import type { MediaSource } from '../../core/channel.js';
import type { MediaReference } from '../../core/events.js';
import type { InstagramConnection } from './config.js';

const referenceSchema = z.object({
  platform: z.literal('instagram'),
  kind: z.enum(['image', 'video', 'audio', 'file']),
  url: z.url(),
});

/** The hosts Meta serves messaging media from: the signed lookaside links and the CDNs they lead to (§8). */
const META_MEDIA_HOST = /(^|\.)(fbsbx\.com|fbcdn\.net|cdninstagram\.com)$/i;
const MAX_REDIRECTS = 3;
const TIMEOUT_MS = 30_000;
/** Asking for the type holds up the message: never for long (the guess stays). */
const PROBE_TIMEOUT_MS = 3_000;

export interface InstagramMedia {
  media: MediaSource;
  /** The MIME type the CDN serves this media with; undefined when it cannot tell (the parser's guess stays). */
  mediaMime(reference: MediaReference): Promise<string | undefined>;
}

export function instagramMedia(connection: Pick<InstagramConnection, 'mediaHosts'>, opts: { fetch?: typeof fetch; timeoutMs?: number } = {}): InstagramMedia {
  const allowed = (url: URL) =>
    (url.protocol === 'https:' && META_MEDIA_HOST.test(url.hostname)) || connection.mediaHosts.includes(url.host) || connection.mediaHosts.includes(url.hostname);
  const get = (reference: MediaReference, timeoutMs: number) => {
    const parsed = referenceSchema.safeParse(reference);
    if (!parsed.success) return Promise.reject(new Error('not an Instagram media reference'));
    return fetchInstagramMedia(new URL(parsed.data.url), { allowed, fetch: opts.fetch ?? globalThis.fetch, timeoutMs });
  };
  return {
    media: (reference) => get(reference, opts.timeoutMs ?? TIMEOUT_MS),
    async mediaMime(reference) {
      const response = await get(reference, PROBE_TIMEOUT_MS).catch(() => undefined);
      if (!response) return undefined;
      await response.body?.cancel().catch(() => undefined);
      const type = response.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase();
      return response.ok && type ? type : undefined;
    },
  };
}

/**
 * GET of a Meta CDN URL, following at most 3 redirects, every hop on an allowed host; the Response is returned
 * unread for the caller to stream (a deadline covers the whole transfer). Throws for a host that is not allowed.
 */
export async function fetchInstagramMedia(
  url: URL,
  opts: { allowed: (url: URL) => boolean; fetch: typeof fetch; timeoutMs: number },
): Promise<Response> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException(`no answer within ${opts.timeoutMs} ms`, 'TimeoutError')), opts.timeoutMs);
  timer.unref?.();
  let at = url;
  for (let hop = 0; ; hop++) {
    if (!opts.allowed(at)) throw new Error(`not an Instagram media host: ${at.host}`);
    const response = await opts.fetch(at, { method: 'GET', redirect: 'manual', signal: controller.signal });
    const location = response.headers.get('location');
    if (response.status < 300 || response.status >= 400 || location === null) return response;
    await response.body?.cancel().catch(() => undefined);
    if (hop >= MAX_REDIRECTS) throw new Error(`more than ${MAX_REDIRECTS} redirects`);
    at = new URL(location, at);
  }
}
