/**
 * GET /media/{token}: streams media to whoever holds a valid token, without keeping it: a platform's media that
 * Genesys cannot fetch itself (the platform may forbid storing it, or serve it only to callers with credentials
 * Genesys does not have; design.md, Media), and an agent's Genesys attachment for a platform that fetches media by
 * URL. A token names a connection and a reference; the reference's source is looked up when the token is used
 * (`sources`). Only the media a token names, only the types of ./served-media.ts with its headers, at most
 * MEDIA_MAX_BYTES (the sources' guarded fetch caps the body; a declared length above it is refused at once).
 */
import type { MediaSource } from '../core/channel.js';
import type { Clock } from '../core/clock.js';
import type { MediaReference } from '../core/events.js';
import { MEDIA_MAX_BYTES, type MediaStream } from '../core/media.js';
import { refuse } from '../intake/refuse.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { servableMediaType, servedMediaHeaders } from './served-media.js';
import { signMediaToken, verifyMediaToken } from './token.js';

/** Platform download URLs live about a day; Genesys's fetch timing is unconfirmed, so the grant matches. */
const GRANT_MS = 24 * 60 * 60 * 1000;

export class MediaProxy {
  /** `publicUrl` + `/media/`, worked out once. */
  private readonly linkPrefix: string;

  constructor(
    private readonly deps: {
      publicUrl: string;
      key: Uint8Array;
      /** The source of a reference granted for a connection; undefined when the connection has none. */
      sources: (connectionId: string, reference: MediaReference) => MediaSource | undefined;
      clock: Clock;
      logger: Logger;
      metrics: Metrics;
    },
  ) {
    this.linkPrefix = `${deps.publicUrl.replace(/\/+$/, '')}/media/`;
  }

  /** The URL Genesys (or a platform) is given for this media. */
  urlFor(connectionId: string, reference: MediaReference): string {
    const token = signMediaToken({ connectionId, reference, expiresAt: this.deps.clock() + GRANT_MS }, this.deps.key);
    return `${this.linkPrefix}${token}`;
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
    const source = this.deps.sources(connectionId, reference);
    if (!source) return refuse('MEDIA_TOKEN_INVALID', 'this media link names no configured connection');
    let upstream: MediaStream;
    try {
      upstream = await source(reference);
    } catch (err) {
      metrics.webhooks.inc({ route: 'media', outcome: 'upstream_failed' });
      logger.warn({ err, connectionId }, 'media could not be fetched from its origin');
      return refuse('MEDIA_UNAVAILABLE', 'the media could not be fetched from where it is kept');
    }
    const type = servableMediaType(upstream.contentType);
    if (type === undefined) return this.unavailable(upstream, `its origin sent ${upstream.contentType?.split(';')[0]?.trim() || 'no content type'}, not an image, video, audio or document`);
    if (upstream.contentLength !== undefined && upstream.contentLength > MEDIA_MAX_BYTES) return this.unavailable(upstream, `the media is larger than ${MEDIA_MAX_BYTES} bytes`);
    metrics.webhooks.inc({ route: 'media', outcome: 'served' });
    return new Response(upstream.body, { status: 200, headers: servedMediaHeaders(type, upstream.contentLength) });
  }

  private unavailable(upstream: MediaStream, why: string): Response {
    void upstream.body.cancel().catch(() => undefined);
    this.deps.metrics.webhooks.inc({ route: 'media', outcome: 'refused' });
    this.deps.logger.warn({ why }, 'media refused');
    return refuse('MEDIA_UNAVAILABLE', why);
  }
}
