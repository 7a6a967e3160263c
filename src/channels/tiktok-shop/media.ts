/**
 * Media transfers of a TikTok Shop connection:
 * - the buyer's images and videos, for the bridge's `/media/{token}` route (the connection's MediaSource), through
 *   the guarded fetch (core/media.ts). Their URLs are signed and expire (key fact 21), so the reference also names
 *   the message: when the URL no longer works, a fresh one is read from Get Conversation Messages. The URL comes
 *   from TikTok Shop (a signed webhook, an authenticated API answer), so its own host is allowed for that transfer
 *   (over HTTPS, on a public address). Indonesian shops' links need the token and cipher
 *   (https://partner.tiktokshop.com/docv2/page/hrilusvh): the token goes to the link's own origin only.
 * - an agent's image from Genesys (core/media.ts, AgentAttachments), before the CS image upload: at most 10 MB,
 *   JPG/PNG/GIF/WebP by its bytes (else a PlatformRefusal: what chat cannot carry).
 */
import type { MediaSource } from '../../core/channel.js';
import { PermanentError, PlatformRefusal, RetryableError } from '../../core/errors.js';
import type { MediaReference } from '../../core/events.js';
import { mediaStreamOf, MEDIA_MAX_BYTES, type AgentAttachments, type MediaFetch, type MediaStream } from '../../core/media.js';
import { silentLogger, type Logger } from '../../logger.js';
import type { Metrics } from '../../metrics.js';
import { allowedOriginProblem } from '../../net/allowed-origins.js';
import { MediaFetchError } from '../../net/media-fetch.js';
import { lastPathSegment, sniffImage } from '../media-bytes.js';
import type { TikTokShopClient } from './api-client.js';
import { TTS_IMAGE_MAX_BYTES, TTS_IMAGE_MIMES, imageTooLarge } from './send.js';

export interface TikTokShopMediaOptions {
  /** Covers a whole transfer. */
  timeoutMs?: number;
  metrics?: Metrics;
  logger?: Logger;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/** The MediaSource of a connection: a parser's reference → the stream. */
export function createTikTokShopMediaSource(client: TikTokShopClient, mediaFetch: MediaFetch, opts: TikTokShopMediaOptions = {}): MediaSource {
  const logger = opts.logger ?? silentLogger;
  const get = async (url: string, credentials: { accessToken: string; shopCipher: string } | undefined): Promise<MediaStream | MediaFetchError> => {
    if (!URL.canParse(url)) return new MediaFetchError('not_allowed', 'the media is not on a host the bridge may fetch from', 'not a URL');
    const { origin, hostname } = new URL(url);
    try {
      const response = await mediaFetch({
        url: withCipher(url, credentials),
        allowHosts: allowedOriginProblem(hostname) === undefined ? [hostname] : [],
        ...(credentials ? { credential: { origin, headers: { 'x-tts-access-token': credentials.accessToken } } } : {}),
        deadlineMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        maxBytes: MEDIA_MAX_BYTES,
      });
      count(opts, String(response.status));
      return mediaStreamOf(response);
    } catch (err) {
      if (!(err instanceof MediaFetchError)) throw err;
      count(opts, err.status !== undefined ? String(err.status) : err.failure);
      return err;
    }
  };
  return async (reference: MediaReference) => {
    const { conversationId, messageId, url } = reference;
    if (!conversationId || !messageId) throw new PermanentError('This media reference does not name a TikTok Shop message.', { reason: 'GeneralError' });
    const credentials = await client.mediaCredentials();
    if (url) {
      const first = await get(url, credentials);
      if (!(first instanceof MediaFetchError)) return first;
      logger.info({ failure: first.failure, status: first.status, detail: first.detail }, 'tiktok_shop.media_url_refused');
    }
    // The signed URL expired (or never came, or was refused): the message list has a fresh one.
    const fresh = await client.freshMediaUrl(conversationId, messageId);
    if (!fresh) throw new PermanentError('TikTok Shop no longer lists this message among the conversation’s recent ones; open it in Seller Center.', { reason: 'GeneralError' });
    const second = await get(fresh, credentials);
    if (!(second instanceof MediaFetchError)) return second;
    logger.warn({ failure: second.failure, status: second.status, detail: second.detail }, 'tiktok_shop.media_failed');
    if (second.retryable) throw new RetryableError('TikTok Shop could not serve the media for now.', { reason: 'ServerError', cause: second });
    throw new PermanentError('TikTok Shop did not serve the media.', { reason: 'GeneralError', cause: second });
  };
}

/**
 * An agent's image from Genesys, at most 10 MB (refused in TikTok Shop's words as soon as it passes); the type is
 * sniffed from the bytes, whatever was declared. `filename` as Genesys names the attachment (its download URL ends
 * in an id).
 */
export async function downloadAgentImage(url: string, attachments: Pick<AgentAttachments, 'download'>, filename?: string): Promise<{ bytes: Uint8Array; mime: string }> {
  const name = filename ?? lastPathSegment(url);
  let bytes: Uint8Array;
  try {
    ({ bytes } = await attachments.download(url, { maxBytes: TTS_IMAGE_MAX_BYTES }));
  } catch (err) {
    if (err instanceof PermanentError && err.reason === 'InvalidMediaContentLength') throw imageTooLarge(undefined, name ? ` "${name}"` : '');
    throw err;
  }
  const mime = sniffImage(bytes);
  if (!mime || !TTS_IMAGE_MIMES.has(mime)) {
    throw new PlatformRefusal(
      `TikTok Shop chat only takes JPG, PNG, GIF or WebP images; the file${name ? ` "${name}"` : ''} is none of these, so the message was not sent. Send one of these instead.`,
      { reason: 'MediaTypeNotAllowed' },
    );
  }
  return { bytes, mime };
}

/** Indonesian image links want the cipher in the query and the token in `x-tts-access-token`. */
function withCipher(url: string, credentials: { shopCipher: string } | undefined): string {
  if (!credentials) return url;
  const u = new URL(url);
  u.searchParams.set('shop_cipher', credentials.shopCipher);
  return u.toString();
}

function count(opts: TikTokShopMediaOptions, status: string): void {
  opts.metrics?.outboundRequests.inc({ target: 'tiktok-shop', operation: 'media_fetch', status });
}
