/**
 * Agents' attachments (core/media.ts, AgentAttachments). Genesys hands an attachment as a link to its downloads
 * service, `https://api-downloads.<region>/api/v2/downloads/{id}`, which the platform SDK declares OAuth-protected
 * and answering with a redirect to a signed download URL (genesys-open-messaging.md key fact 23,
 * https://github.com/MyPureCloud/platform-client-sdk-javascript, `getDownload`, `redirectToAuth`).
 *
 * - Only URLs on the downloads origin (`genesys.downloadsBaseUrl`) or on the operator's list (`media.allowedOrigins`)
 *   are fetched; any other is refused before a request is made, token requests included.
 * - The bearer token goes to the downloads origin only, never to the host its redirect leads to: that host is
 *   UNCONFIRMED, so it is fetched only when the operator lists it, and a signed URL refuses a second credential
 *   anyway (S3 answers 400 "Only one auth mechanism allowed").
 * - A 401 drops the token (once per refused token, however many transfers saw it) and the transfer is tried once
 *   more with a new one.
 * - Failures become the agent's sentence, never what the remote side answered (net/media-fetch.ts).
 */
import type { MediaSource } from '../core/channel.js';
import { PermanentError, RetryableError } from '../core/errors.js';
import type { MediaReference } from '../core/events.js';
import { mediaStreamOf, MEDIA_MAX_BYTES, type AgentAttachments, type MediaFetch, type MediaResponse } from '../core/media.js';
import { silentLogger, type Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { allowedOriginProblem, originVerdict, parseAllowedOrigins, type AllowedOrigins } from '../net/allowed-origins.js';
import { MediaFetchError } from '../net/media-fetch.js';
import type { GenesysTokenProvider } from './auth.js';

/** The `platform` of a /media reference that names an agent's attachment. */
export const GENESYS_MEDIA_PLATFORM = 'genesys';

/** A download the bridge reads whole (an image to upload): well under the queue's lease. */
const DOWNLOAD_DEADLINE_MS = 30_000;
/** A transfer streamed through /media to a platform that fetches by URL, as slowly as that platform reads. */
const STREAM_DEADLINE_MS = 60_000;

export interface GenesysAttachmentsOptions {
  /** `genesys.downloadsBaseUrl`: the one origin that gets the bearer token. */
  downloadsBaseUrl: string;
  /** The operator's list (`media.allowedOrigins`), also used by `mediaFetch`. */
  allowed: AllowedOrigins;
  tokens: Pick<GenesysTokenProvider, 'getToken' | 'invalidate'>;
  mediaFetch: MediaFetch;
  /** The bridge's signed /media URL for a reference (media/proxy.ts). */
  mediaUrl(connectionId: string, reference: MediaReference): string;
  metrics?: Metrics;
  logger?: Logger;
}

export interface GenesysAttachments {
  attachments: AgentAttachments;
  /** Streams an attachment named by a `{ platform: 'genesys', url }` reference (what `link` hands out). */
  source: MediaSource;
}

/** The host entry that allows the downloads origin for a transfer (HTTPS on 443 only); else the operator must list it. */
export function downloadsAllowHosts(downloadsBaseUrl: string): string[] {
  const url = new URL(downloadsBaseUrl);
  return url.protocol === 'https:' && url.port === '' && allowedOriginProblem(url.hostname) === undefined ? [url.hostname] : [];
}

export function createGenesysAttachments(opts: GenesysAttachmentsOptions): GenesysAttachments {
  const logger = opts.logger ?? silentLogger;
  const downloadsOrigin = new URL(opts.downloadsBaseUrl).origin;
  const allowHosts = downloadsAllowHosts(opts.downloadsBaseUrl);
  const perUse = parseAllowedOrigins(allowHosts);

  /** Throws the agent's sentence for a URL the bridge will never fetch; nothing is asked of anyone first. */
  function checkUrl(url: string): void {
    const allowed = URL.canParse(url) && originVerdict(new URL(url), opts.allowed, perUse) !== 'not-allowed';
    if (!allowed) {
      logger.warn({ origin: URL.canParse(url) ? new URL(url).origin : 'not a URL' }, 'genesys.attachment_not_allowed');
      throw new PermanentError(
        'The attachment is not on a Genesys download host the bridge may fetch from, so the message was not sent. If Genesys keeps sending files from there, the bridge operator can allow it in media.allowedOrigins.',
        { reason: 'GeneralError' },
      );
    }
  }

  async function get(url: string, maxBytes: number, deadlineMs: number): Promise<MediaResponse> {
    checkUrl(url);
    const withToken = new URL(url).origin === downloadsOrigin;
    let token = withToken ? await opts.tokens.getToken() : undefined;
    for (let attempt = 0; ; attempt++) {
      try {
        const response = await opts.mediaFetch({
          url,
          allowHosts,
          ...(token !== undefined ? { credential: { origin: downloadsOrigin, headers: { authorization: `Bearer ${token}` } } } : {}),
          deadlineMs,
          maxBytes,
        });
        count(String(response.status));
        return response;
      } catch (err) {
        count(err instanceof MediaFetchError ? (err.status !== undefined ? String(err.status) : err.failure) : 'error');
        if (err instanceof MediaFetchError && err.status === 401 && token !== undefined && attempt === 0) {
          logger.info({ operation: 'attachment_download' }, 'genesys.token_rejected');
          opts.tokens.invalidate(token);
          token = await opts.tokens.getToken();
          continue;
        }
        throw err;
      }
    }
  }

  function count(status: string): void {
    opts.metrics?.outboundRequests.inc({ target: 'genesys', operation: 'attachment_download', status });
  }

  /** A transfer's failure as the agent reads it; the operator's log gets the detail. */
  function agentError(err: unknown, maxBytes: number): RetryableError | PermanentError {
    if (err instanceof PermanentError || err instanceof RetryableError) return err;
    const fetchError = err instanceof MediaFetchError ? err : undefined;
    logger.warn({ failure: fetchError?.failure, detail: fetchError?.detail, status: fetchError?.status, err: fetchError ? undefined : err }, 'genesys.attachment_failed');
    if (fetchError?.failure === 'too_large') {
      return new PermanentError(`The attachment is larger than ${megabytes(maxBytes)} MB, the most that can be sent here, so the message was not sent. Send a smaller file.`, {
        reason: 'InvalidMediaContentLength',
      });
    }
    // A redirect to a host not allowed, or to a local or private address: which one is not the agent's to read.
    if (fetchError?.failure === 'not_allowed' || fetchError?.failure === 'forbidden_address') {
      return new PermanentError(
        'The bridge may not fetch this attachment from where Genesys sent it, so the message was not sent. If this keeps happening, the bridge operator can check media.allowedOrigins.',
        { reason: 'GeneralError' },
      );
    }
    if (fetchError === undefined || fetchError.retryable) {
      return new RetryableError('The bridge could not download the attachment from Genesys; it retried but could not deliver in time. Send the file again.', {
        reason: 'ServerError',
        cause: err,
      });
    }
    return new PermanentError('The bridge could not download the attachment from Genesys, so the message was not sent. Check that the file is still available and send it again.', {
      reason: 'GeneralError',
    });
  }

  const attachments: AgentAttachments = {
    async download(url, { maxBytes }) {
      try {
        const response = await get(url, maxBytes, DOWNLOAD_DEADLINE_MS);
        const bytes = await response.bytes();
        const mime = response.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase();
        return { bytes, ...(mime ? { mime } : {}) };
      } catch (err) {
        throw agentError(err, maxBytes);
      }
    },
    link(connectionId, url) {
      checkUrl(url);
      return opts.mediaUrl(connectionId, { platform: GENESYS_MEDIA_PLATFORM, url });
    },
  };

  const source: MediaSource = async (reference) => {
    const { url } = reference;
    if (reference.platform !== GENESYS_MEDIA_PLATFORM || !url) throw new Error('not a Genesys attachment reference');
    const response = await get(url, MEDIA_MAX_BYTES, STREAM_DEADLINE_MS);
    return mediaStreamOf(response);
  };

  return { attachments, source };
}

function megabytes(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(bytes % (1024 * 1024) === 0 ? 0 : 1);
}
