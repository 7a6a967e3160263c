/**
 * The bridge → TikTok Business Messaging API calls of one connection (tiktok-messaging.md §2, §3, §9): send,
 * image upload, media download. Every call carries `Access-Token: <token>` — NOT `Authorization: Bearer`, which
 * TikTok answers with 40105 (key fact 2) — and every answer's `code` is checked, since errors come as HTTP 200
 * (key fact 6). A 40105 makes the client renew the token once (TikTokTokens) and retry once; a second 40105 is
 * final. Every failure is thrown as RetryableError or PermanentError (./errors.ts). Never logs tokens or text.
 */
import { encodeMultipart, lastPathSegment, sniffImage } from '../media-bytes.js';
import { tiktokApiEnvelopeOf, type TikTokApiEnvelope } from '../tiktok-envelope.js';
import type { TikTokConnection } from './config.js';
import { PermanentError, RetryableError } from '../../core/errors.js';
import { mediaStreamOf, MEDIA_MAX_BYTES, type AgentAttachments, type MediaFetch, type MediaStream } from '../../core/media.js';
import { silentLogger, type Logger } from '../../logger.js';
import type { Metrics } from '../../metrics.js';
import { allowedOriginProblem } from '../../net/allowed-origins.js';
import { httpCall, type HttpCall, type HttpRequestInit, type HttpResult } from '../../net/http.js';
import { MediaFetchError } from '../../net/media-fetch.js';
import type { TikTokTokens } from './auth.js';
import type { TikTokMediaReference } from './media.js';
import { classifyTikTokError, classifyTikTokFetchError, isTikTokTokenError } from './errors.js';
import { TIKTOK_IMAGE_MAX_BYTES, TIKTOK_IMAGE_MIMES, type TikTokSendBody } from './send.js';

export interface TikTokClientOptions {
  connection: TikTokConnection;
  tokens: TikTokTokens;
  /** API calls (send, upload, download URL). */
  http?: HttpCall;
  /** TikTok's media, streamed through the guarded fetch. */
  mediaFetch: MediaFetch;
  /** The agent's images, downloaded from Genesys. */
  attachments: Pick<AgentAttachments, 'download'>;
  /** Per API call. Keep it well under the queue's lease (queue.leaseMs). */
  timeoutMs?: number;
  /** Per TikTok media transfer. */
  mediaTimeoutMs?: number;
  /** Epoch ms. */
  clock?: () => number;
  metrics?: Metrics;
  logger?: Logger;
}

export interface TikTokSendResult {
  /** `data.message.message_id`; the `im_send_msg` echo carries the same one. Absent for sender actions (`""`). */
  messageId?: string;
  /** Epoch ms until which the account should stop sending. TikTok sends no usage headers, so never set today. */
  pauseUntil?: number;
}

type Operation = 'send' | 'media_upload' | 'media_download_url' | 'media_fetch';

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MEDIA_TIMEOUT_MS = 30_000;
const NOT_SENT = 'the message was not sent.';

export class TikTokClient {
  private readonly connection: TikTokConnection;
  private readonly tokens: TikTokTokens;
  private readonly http: HttpCall;
  private readonly mediaFetch: MediaFetch;
  private readonly attachments: Pick<AgentAttachments, 'download'>;
  private readonly timeoutMs: number;
  private readonly mediaTimeoutMs: number;
  private readonly clock: () => number;
  private readonly metrics: Metrics | undefined;
  private readonly logger: Logger;

  constructor(opts: TikTokClientOptions) {
    this.connection = opts.connection;
    this.tokens = opts.tokens;
    this.http = opts.http ?? httpCall;
    this.mediaFetch = opts.mediaFetch;
    this.attachments = opts.attachments;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.mediaTimeoutMs = opts.mediaTimeoutMs ?? DEFAULT_MEDIA_TIMEOUT_MS;
    this.clock = opts.clock ?? Date.now;
    this.metrics = opts.metrics;
    this.logger = opts.logger ?? silentLogger;
  }

  /**
   * `POST /business/message/send/` → `data.message.message_id` (§3). A timeout is retried like any network
   * error, but TikTok may have sent the message anyway. `windowClosedAt` lets a 40064 say when the window closed.
   */
  async send(body: TikTokSendBody, opts: { windowClosedAt?: number } = {}): Promise<TikTokSendResult> {
    const data = await this.api('send', '/business/message/send/', () => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }), opts);
    const message = isRecord(data) && isRecord(data.message) ? data.message : undefined;
    const messageId = typeof message?.message_id === 'string' && message.message_id !== '' ? message.message_id : undefined;
    return messageId ? { messageId } : {};
  }

  /**
   * `POST /business/message/media/upload/` multipart (`business_id`, `media_type=IMAGE`, `file`) → `media_id`
   * (valid 30 days, key fact 26). JPG/PNG ≤ 3 MB is enforced here first, from the bytes themselves.
   */
  async uploadImage(bytes: Uint8Array, mime: string, filename: string): Promise<string> {
    const type = checkImage(bytes, mime, filename);
    const data = await this.api('media_upload', '/business/message/media/upload/', () => {
      const form = new FormData();
      form.set('business_id', this.connection.businessId);
      form.set('media_type', 'IMAGE');
      // A copy: Blob takes only ArrayBuffer-backed views (the caller may hand a view of a shared buffer).
      form.set('file', new Blob([new Uint8Array(bytes)], { type }), filename);
      return multipart(form);
    });
    const mediaId = isRecord(data) && typeof data.media_id === 'string' && data.media_id !== '' ? data.media_id : undefined;
    if (!mediaId) throw new RetryableError(`TikTok accepted the image but returned no media id; the bridge retried but it kept failing, so ${NOT_SENT}`, { reason: 'GeneralError' });
    return mediaId;
  }

  /**
   * An agent's image: download it from Genesys (with the bridge's Genesys token, at most 3 MB), upload it, send it
   * as IMAGE to the conversation.
   */
  async sendImageFromUrl(conversationId: string, url: string, opts: { mime?: string; filename?: string; windowClosedAt?: number } = {}): Promise<TikTokSendResult> {
    const { bytes, mime } = await this.downloadAttachment(url, opts.mime);
    const filename = opts.filename ?? (lastPathSegment(url) || (mime === 'image/png' ? 'image.png' : 'image.jpg'));
    const mediaId = await this.uploadImage(bytes, mime, filename);
    const body: TikTokSendBody = {
      business_id: this.connection.businessId,
      recipient_type: 'CONVERSATION',
      recipient: conversationId,
      message_type: 'IMAGE',
      image: { media_id: mediaId },
    };
    return this.send(body, opts.windowClosedAt !== undefined ? { windowClosedAt: opts.windowClosedAt } : {});
  }

  /** `POST /business/message/media/download/` → `data.download_url` (valid 24 h, key fact 25). */
  async mediaDownloadUrl(ref: TikTokMediaReference): Promise<string> {
    const data = await this.api('media_download_url', '/business/message/media/download/', () => ({
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        business_id: this.connection.businessId,
        conversation_id: ref.conversationId,
        message_id: ref.messageId,
        media_id: ref.mediaId,
        media_type: ref.mediaType,
      }),
    }));
    const url = isRecord(data) && typeof data.download_url === 'string' ? data.download_url : undefined;
    if (!url || !URL.canParse(url)) throw new RetryableError('TikTok returned no download URL for the media.', { reason: 'GeneralError' });
    return url;
  }

  /**
   * GET a `download_url` with `x-user: <access token>` (key fact 25), through the guarded fetch: the URL comes from
   * TikTok's authenticated API, so its own host is allowed for this transfer (over HTTPS, on a public address), and
   * the token goes to that origin only. The stream is returned unread; the deadline covers the whole transfer. On
   * 401/403 the token is renewed once and the transfer tried again.
   */
  async fetchMedia(downloadUrl: string): Promise<MediaStream> {
    const url = new URL(downloadUrl);
    const allowHosts = allowedOriginProblem(url.hostname) === undefined ? [url.hostname] : [];
    let token = await this.tokens.getAccessToken();
    for (let attempt = 0; ; attempt++) {
      try {
        const response = await this.mediaFetch({
          url: downloadUrl,
          allowHosts,
          credential: { origin: url.origin, headers: { 'x-user': token } },
          deadlineMs: this.mediaTimeoutMs,
          maxBytes: MEDIA_MAX_BYTES,
        });
        this.count('media_fetch', String(response.status));
        return mediaStreamOf(response);
      } catch (err) {
        if (!(err instanceof MediaFetchError)) throw err;
        this.count('media_fetch', err.status !== undefined ? String(err.status) : err.failure);
        if ((err.status === 401 || err.status === 403) && attempt === 0) {
          token = await this.tokens.refresh({ rejected: token });
          continue;
        }
        this.logger.warn({ operation: 'media_fetch', connectionId: this.connection.id, failure: err.failure, status: err.status, detail: err.detail }, 'tiktok.request_failed');
        if (err.retryable) throw new RetryableError('TikTok could not serve the media for now.', { reason: 'ServerError', cause: err });
        throw new PermanentError('TikTok did not serve the media; its download link may have expired.', { reason: 'GeneralError', cause: err });
      }
    }
  }

  // ---- plumbing ----

  /**
   * One Business API call with the current token; on 40105 the token is renewed once and the call repeated
   * once. Returns `data` of a `code: 0` answer.
   */
  private async api(operation: Operation, path: string, init: () => ApiBody | Promise<ApiBody>, opts: { windowClosedAt?: number } = {}): Promise<unknown> {
    const url = `${this.connection.apiBaseUrl.replace(/\/+$/, '')}${path}`;
    let token = await this.tokens.getAccessToken();
    for (let attempt = 0; ; attempt++) {
      const { headers, body } = await init();
      const { response, bodyText, envelope } = await this.call(operation, url, { method: 'POST', headers: { accept: 'application/json', ...headers, 'access-token': token }, body });
      const error = classifyTikTokError(response.status, envelope ?? bodyText, {
        businessId: this.connection.businessId,
        now: this.clock(),
        ...(opts.windowClosedAt !== undefined ? { windowClosedAt: opts.windowClosedAt } : {}),
      });
      const fields = { operation, connectionId: this.connection.id, status: response.status, code: envelope?.code, requestId: envelope?.request_id };
      if (!error) {
        this.logger.debug(fields, 'tiktok.request_ok');
        return envelope?.data;
      }
      if (isTikTokTokenError(error) && attempt === 0) {
        this.logger.info(fields, 'tiktok.token_rejected');
        token = await this.tokens.refresh({ rejected: token });
        continue;
      }
      const log = isTikTokTokenError(error) ? this.logger.error.bind(this.logger) : this.logger.warn.bind(this.logger);
      log({ ...fields, outcome: error.name, reason: error.reason }, isTikTokTokenError(error) ? 'tiktok.token_rejected_after_refresh' : 'tiktok.request_failed');
      throw error;
    }
  }

  /** The answer and its envelope, read once for the metric and for the caller. */
  private async call(operation: Operation, url: string, init: HttpRequestInit): Promise<HttpResult & { envelope: TikTokApiEnvelope | undefined }> {
    try {
      const result = await this.http(url, init, this.timeoutMs);
      const envelope = tiktokApiEnvelopeOf(result.bodyText);
      this.count(operation, envelope?.code !== undefined && envelope.code !== 0 ? `code_${envelope.code}` : String(result.response.status));
      return { ...result, envelope };
    } catch (err) {
      const { error, statusLabel: label } = classifyTikTokFetchError(err, this.timeoutMs);
      this.count(operation, label);
      this.logger.warn({ operation, connectionId: this.connection.id, status: label }, 'tiktok.request_failed');
      throw error;
    }
  }

  /**
   * The Genesys attachment's bytes (core/media.ts, AgentAttachments: its failures are the agent's sentences), at
   * most 3 MB; a larger one is refused as soon as it is known, in TikTok's words.
   */
  private async downloadAttachment(url: string, declaredMime: string | undefined): Promise<{ bytes: Uint8Array; mime: string }> {
    let downloaded: { bytes: Uint8Array; mime?: string };
    try {
      downloaded = await this.attachments.download(url, { maxBytes: TIKTOK_IMAGE_MAX_BYTES });
    } catch (err) {
      if (err instanceof PermanentError && err.reason === 'InvalidMediaContentLength') throw tooLarge(undefined);
      throw err;
    }
    const { bytes } = downloaded;
    return { bytes, mime: sniffImage(bytes) ?? declaredMime ?? downloaded.mime ?? 'application/octet-stream' };
  }

  private count(operation: Operation, status: string): void {
    this.metrics?.outboundRequests.inc({ target: 'tiktok', operation, status });
  }
}

interface ApiBody {
  headers?: Record<string, string>;
  body: string | Uint8Array;
}

/** A form as multipart/form-data bytes with the content type naming their boundary. */
async function multipart(form: FormData): Promise<ApiBody> {
  const { contentType, body } = await encodeMultipart(form);
  return { headers: { 'content-type': contentType }, body };
}

/** JPG/PNG ≤ 3 MB (key fact 26), checked locally so TikTok never sees a file it would refuse; the MIME to upload. */
function checkImage(bytes: Uint8Array, mime: string, filename: string): 'image/jpeg' | 'image/png' {
  if (bytes.length > TIKTOK_IMAGE_MAX_BYTES) throw tooLarge(bytes.length);
  const declared = mime.split(';')[0]?.trim().toLowerCase() ?? '';
  const sniffed = sniffImage(bytes);
  const actual = sniffed === 'image/jpeg' || sniffed === 'image/png' ? sniffed : undefined;
  if (!actual || (declared !== '' && declared !== 'application/octet-stream' && !TIKTOK_IMAGE_MIMES.has(declared))) {
    throw new PermanentError(
      `TikTok only accepts JPG or PNG images up to 3 MB in messages; "${filename}" is ${declared || 'of an unknown type'}${actual ? '' : ' and not a JPG or PNG image'}, so ${NOT_SENT} Send a JPG or PNG image instead.`,
      { reason: 'MediaTypeNotAllowed' },
    );
  }
  return actual;
}

/** `bytes` when known; a download stopped at the cap only knows it is larger. */
function tooLarge(bytes: number | undefined): PermanentError {
  const size = bytes === undefined ? 'this one is larger' : `this one is ${(bytes / 1024 / 1024).toFixed(1)} MB`;
  return new PermanentError(`TikTok only accepts images up to 3 MB in messages; ${size}, so ${NOT_SENT} Send a smaller image.`, { reason: 'InvalidMediaContentLength' });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
