/**
 * Media transfers of a TikTok Shop connection, streamed with fetch (design.md: node:http for API calls, fetch where
 * bytes stream):
 * - the buyer's images and videos, for the bridge's `/media/{token}` route (the connection's MediaSource). Their URLs
 *   are signed and expire (key fact 21), so the reference also names the message: when the URL no longer works, a
 *   fresh one is read from Get Conversation Messages. Indonesian shops' links need the token and cipher
 *   (https://partner.tiktokshop.com/docv2/page/hrilusvh).
 * - an agent's image from Genesys, before the CS image upload: at most 10 MB, JPG/PNG/GIF/WebP by its bytes (else a
 *   PlatformRefusal: what chat cannot carry).
 */
import type { MediaSource } from '../../core/channel.js';
import { PermanentError, PlatformRefusal, RetryableError } from '../../core/errors.js';
import type { MediaReference } from '../../core/events.js';
import { silentLogger, type Logger } from '../../logger.js';
import type { Metrics } from '../../metrics.js';
import type { TikTokShopClient } from './api-client.js';
import { TTS_IMAGE_MAX_BYTES, TTS_IMAGE_MIMES, imageTooLarge } from './send.js';

export interface TikTokShopMediaOptions {
  fetch?: typeof fetch;
  /** Covers a whole transfer. */
  timeoutMs?: number;
  metrics?: Metrics;
  logger?: Logger;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/** The MediaSource of a connection: a parser's reference → the streaming answer (unread). */
export function createTikTokShopMediaSource(client: TikTokShopClient, opts: TikTokShopMediaOptions = {}): MediaSource {
  const get = transfer(opts);
  const logger = opts.logger ?? silentLogger;
  return async (reference: MediaReference) => {
    const { conversationId, messageId, url } = reference;
    if (!conversationId || !messageId) throw new PermanentError('This media reference does not name a TikTok Shop message.', { reason: 'GeneralError' });
    const credentials = await client.mediaCredentials();
    if (url) {
      const first = await get('media_fetch', withCipher(url, credentials), credentials);
      if (first.ok) return first;
      await first.body?.cancel().catch(() => undefined);
      logger.info({ status: first.status }, 'tiktok_shop.media_url_refused');
    }
    // The signed URL expired (or never came): the message list has a fresh one.
    const fresh = await client.freshMediaUrl(conversationId, messageId);
    if (!fresh) throw new PermanentError('TikTok Shop no longer lists this message among the conversation’s recent ones; open it in Seller Center.', { reason: 'GeneralError' });
    const second = await get('media_fetch', withCipher(fresh, credentials), credentials);
    if (second.ok) return second;
    await second.body?.cancel().catch(() => undefined);
    if (second.status >= 500 || second.status === 429) throw new RetryableError(`TikTok Shop could not serve the media for now (HTTP ${second.status}).`, { reason: 'ServerError' });
    throw new PermanentError(`TikTok Shop refused to serve the media (HTTP ${second.status}).`, { reason: 'GeneralError' });
  };
}

/**
 * An agent's image from Genesys (plain GET: whether Genesys attachment URLs need auth is UNCONFIRMED), refused as
 * soon as it passes 10 MB; the type is sniffed from the bytes, whatever was declared.
 */
export async function downloadAgentImage(url: string, opts: TikTokShopMediaOptions = {}): Promise<{ bytes: Uint8Array; mime: string }> {
  const name = lastPathSegment(url);
  let response: Response;
  try {
    response = await transfer(opts)('attachment_download', url, undefined);
  } catch (err) {
    throw new RetryableError('The bridge could not download the image from Genesys; it retried but could not deliver in time. Send the image again.', { reason: 'ServerError', cause: err });
  }
  if (!response.ok) {
    await response.body?.cancel().catch(() => undefined);
    const sentence = `The bridge could not download the image from Genesys (HTTP ${response.status})`;
    if (response.status >= 500 || response.status === 408 || response.status === 429) throw new RetryableError(`${sentence}; it retried but could not deliver in time. Send the image again.`, { reason: 'ServerError' });
    throw new PermanentError(`${sentence}; the message was not sent. Check that the file is still available and send it again.`, { reason: 'GeneralError' });
  }
  const length = Number(response.headers.get('content-length') ?? '');
  if (Number.isFinite(length) && length > TTS_IMAGE_MAX_BYTES) {
    await response.body?.cancel().catch(() => undefined);
    throw imageTooLarge(length, name ? ` "${name}"` : '');
  }
  const bytes = await readCapped(response, TTS_IMAGE_MAX_BYTES, name);
  const mime = sniffImage(bytes);
  if (!mime || !TTS_IMAGE_MIMES.has(mime)) {
    throw new PlatformRefusal(
      `TikTok Shop chat only takes JPG, PNG, GIF or WebP images; the file${name ? ` "${name}"` : ''} is none of these, so the message was not sent. Send one of these instead.`,
      { reason: 'MediaTypeNotAllowed' },
    );
  }
  return { bytes, mime };
}

/** JPG, PNG, GIF or WebP by magic bytes. */
export function sniffImage(bytes: Uint8Array): 'image/jpeg' | 'image/png' | 'image/gif' | 'image/webp' | undefined {
  const starts = (sig: number[], at = 0) => bytes.length >= at + sig.length && sig.every((b, i) => bytes[at + i] === b);
  if (starts([0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (starts([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
  if (starts([0x47, 0x49, 0x46, 0x38])) return 'image/gif';
  if (starts([0x52, 0x49, 0x46, 0x46]) && starts([0x57, 0x45, 0x42, 0x50], 8)) return 'image/webp';
  return undefined;
}

/** Indonesian image links want the cipher in the query and the token in `x-tts-access-token`. */
function withCipher(url: string, credentials: { shopCipher: string } | undefined): string {
  if (!credentials) return url;
  const u = new URL(url);
  u.searchParams.set('shop_cipher', credentials.shopCipher);
  return u.toString();
}

/** A GET whose body the caller reads; the deadline covers the whole transfer (a plain timer, as in net/http.ts). */
function transfer(opts: TikTokShopMediaOptions) {
  const doFetch = opts.fetch ?? globalThis.fetch;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return async (operation: 'media_fetch' | 'attachment_download', url: string, credentials: { accessToken: string } | undefined): Promise<Response> => {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new DOMException(`no answer within ${timeoutMs} ms`, 'TimeoutError')), timeoutMs);
    timer.unref?.();
    try {
      const response = await doFetch(url, { method: 'GET', headers: credentials ? { 'x-tts-access-token': credentials.accessToken } : {}, signal: controller.signal });
      opts.metrics?.outboundRequests.inc({ target: operation === 'attachment_download' ? 'genesys' : 'tiktok-shop', operation, status: String(response.status) });
      return response;
    } catch (err) {
      clearTimeout(timer);
      opts.metrics?.outboundRequests.inc({ target: operation === 'attachment_download' ? 'genesys' : 'tiktok-shop', operation, status: 'network' });
      throw operation === 'media_fetch' ? new RetryableError('TikTok Shop could not be reached for the media.', { reason: 'ServerError', cause: err }) : err;
    }
  };
}

/** Reads the body, refusing as soon as it passes `max` bytes (Content-Length may be absent or wrong). */
async function readCapped(response: Response, max: number, name: string): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = response.body?.getReader();
  if (!reader) return new Uint8Array(0);
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel().catch(() => undefined);
      throw imageTooLarge(total, name ? ` "${name}"` : '');
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

function lastPathSegment(url: string): string {
  try {
    return decodeURIComponent(new URL(url).pathname.split('/').pop() ?? '');
  } catch {
    return '';
  }
}
