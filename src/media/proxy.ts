/**
 * GET /media/{token}: streams a platform's media to whoever holds a valid token (Genesys fetching an
 * attachment), without keeping it: a platform may forbid storing its media, or serve it only to callers with
 * credentials Genesys does not have (design.md, Media). Each channel module that has such media provides its
 * source. Only the media a token names, only images, video, audio and PDF (or untyped) files, at most Genesys's
 * 25 MB attachment cap.
 */
import type { MediaSource } from '../core/channel.js';
import type { Clock } from '../core/clock.js';
import type { MediaReference } from '../core/events.js';
import { refuse } from '../intake/refuse.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { signMediaToken, verifyMediaToken } from './token.js';

/** Genesys's attachment cap (genesys-open-messaging.md key fact 8). */
const MAX_BYTES = 25 * 1024 * 1024;
/** Platform download URLs live about a day; Genesys's fetch timing is unconfirmed, so the grant matches. */
const GRANT_MS = 24 * 60 * 60 * 1000;
/** What customers send: pictures, videos, voice notes and documents; never a type a browser would run (HTML, SVG). */
const ALLOWED_TYPE = /^((image|video|audio)\/[a-z0-9.+-]+|application\/(pdf|octet-stream))$/i;
const ACTIVE_TYPE = /^image\/svg/i;

export class MediaProxy {
  constructor(
    private readonly deps: {
      publicUrl: string;
      key: Uint8Array;
      sources: ReadonlyMap<string, MediaSource>;
      clock: Clock;
      logger: Logger;
      metrics: Metrics;
    },
  ) {}

  /** The URL Genesys is given for this media. */
  urlFor(connectionId: string, reference: MediaReference): string {
    const token = signMediaToken({ connectionId, reference, expiresAt: this.deps.clock() + GRANT_MS }, this.deps.key);
    return `${this.deps.publicUrl.replace(/\/+$/, '')}/media/${token}`;
  }

  async serve(token: string): Promise<Response> {
    const { metrics, logger } = this.deps;
    const verdict = verifyMediaToken(token, this.deps.key, this.deps.clock());
    if (!verdict.ok) {
      metrics.webhooks.inc({ route: 'media', outcome: `rejected_${verdict.reason}` });
      return verdict.reason === 'expired'
        ? refuse('MEDIA_EXPIRED', 'this media link has expired')
        : refuse('MEDIA_TOKEN_INVALID', 'this media link is not valid');
    }
    const { connectionId, reference } = verdict.grant;
    const source = this.deps.sources.get(connectionId);
    if (!source) return refuse('MEDIA_TOKEN_INVALID', 'this media link names no configured connection');
    let upstream: Response;
    try {
      upstream = await source(reference);
    } catch (err) {
      metrics.webhooks.inc({ route: 'media', outcome: 'upstream_failed' });
      logger.warn({ err, connectionId }, 'media could not be fetched from the platform');
      return refuse('MEDIA_UNAVAILABLE', 'the platform did not provide this media');
    }
    const type = upstream.headers.get('content-type')?.split(';')[0]?.trim() ?? '';
    const length = Number(upstream.headers.get('content-length') ?? NaN);
    if (!upstream.ok || !upstream.body) return this.unavailable(upstream, `the platform answered ${upstream.status}`);
    if (!ALLOWED_TYPE.test(type) || ACTIVE_TYPE.test(type)) return this.unavailable(upstream, `the platform sent ${type || 'no content type'}, not an image, video, audio or document`);
    if (length > MAX_BYTES) return this.unavailable(upstream, `the media is larger than ${MAX_BYTES} bytes`);
    metrics.webhooks.inc({ route: 'media', outcome: 'served' });
    const headers = new Headers({ 'content-type': type, 'cache-control': 'private, max-age=3600' });
    if (Number.isFinite(length)) headers.set('content-length', String(length));
    return new Response(upstream.body.pipeThrough(capBytes(MAX_BYTES)), { status: 200, headers });
  }

  private unavailable(upstream: Response, why: string): Response {
    void upstream.body?.cancel().catch(() => undefined);
    this.deps.metrics.webhooks.inc({ route: 'media', outcome: 'refused' });
    this.deps.logger.warn({ why }, 'media refused');
    return refuse('MEDIA_UNAVAILABLE', why);
  }
}

/** Errors the stream once more than `max` bytes went through (a platform that lied about the length). */
function capBytes(max: number): TransformStream<Uint8Array, Uint8Array> {
  let seen = 0;
  return new TransformStream({
    transform(chunk, controller) {
      seen += chunk.byteLength;
      if (seen > max) controller.error(new Error(`media exceeds ${max} bytes`));
      else controller.enqueue(chunk);
    },
  });
}

