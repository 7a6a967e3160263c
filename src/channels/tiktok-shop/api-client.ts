/**
 * The bridge → TikTok Shop Open API calls of one connection (tiktok-shop.md §2, §3): send, image upload, mark read,
 * conversations (lookup, the check before a reply, reopen), messages (a fresh media URL), the authorized shops.
 * Every call is signed (sign.ts), carries `app_key`, `timestamp` and — for shop data — `shop_cipher` in the query,
 * and the header `x-tts-access-token` (key fact 3). Every answer's `code` is checked, whatever the HTTP status.
 *
 * Limits: 50 requests per second per API per shop (key fact 11): each instance spaces its calls of one API to
 * `maxRequestsPerSecond`; beyond that, TikTok's 429 / 36009002 and the daily quota 45101004 pause the shop on every
 * instance (errors.ts). Never logs a token, the app secret, a signed URL or message text.
 */
import type { Clock } from '../../core/clock.js';
import { RetryableError } from '../../core/errors.js';
import type { Records } from '../../core/store.js';
import { silentLogger, type Logger } from '../../logger.js';
import type { Metrics } from '../../metrics.js';
import { httpCall, type HttpCall, type HttpRequestInit, type HttpResult } from '../../net/http.js';
import { TikTokShopCipher, type AuthorizedShop, type TikTokShopTokens } from './auth.js';
import type { TikTokShopConnection } from './config.js';
import { TTS_ADMIN_CODES, TikTokShopTokenError, classifyTikTokShopError, classifyTikTokShopFetchError, tiktokShopCannotWrite } from './errors.js';
import { signedTikTokShopUrl } from './sign.js';
import type { TikTokShopSendBody } from './send.js';
import { encodeMultipart } from '../media-bytes.js';
import { tiktokApiEnvelopeOf, type TikTokApiEnvelope } from '../tiktok-envelope.js';

export type TikTokShopOperation = 'shops' | 'webhooks' | 'send' | 'upload' | 'read' | 'conversations' | 'create_conversation' | 'messages';

/** A conversation as Get Conversations lists it (cs-convs); only what the bridge reads. */
export interface TikTokShopConversation {
  id: string;
  canSendMessage?: boolean;
  buyer?: { imUserId?: string; userId?: string; nickname?: string; avatar?: string };
}

export interface TikTokShopClientOptions {
  connection: TikTokShopConnection;
  tokens: Pick<TikTokShopTokens, 'getAccessToken' | 'refresh'>;
  /** Where the shop cipher is kept. */
  store: Records;
  http?: HttpCall;
  clock?: Clock;
  metrics?: Metrics;
  logger?: Logger;
}

/** How far back a lookup pages (20 conversations / 10 messages a page, the APIs' maximums): the list is newest first. */
const CONVERSATION_PAGES = 5;
const MESSAGE_PAGES = 5;

export class TikTokShopClient {
  readonly shop: TikTokShopCipher;
  private readonly connection: TikTokShopConnection;
  private readonly tokens: Pick<TikTokShopTokens, 'getAccessToken' | 'refresh'>;
  private readonly http: HttpCall;
  private readonly clock: Clock;
  private readonly metrics: Metrics | undefined;
  private readonly logger: Logger;
  private readonly nextSlot = new Map<TikTokShopOperation, number>();

  constructor(opts: TikTokShopClientOptions) {
    this.connection = opts.connection;
    this.tokens = opts.tokens;
    this.http = opts.http ?? httpCall;
    this.clock = opts.clock ?? Date.now;
    this.metrics = opts.metrics;
    this.logger = opts.logger ?? silentLogger;
    this.shop = new TikTokShopCipher({ connection: opts.connection, store: opts.store, fetchShops: () => this.authorizedShops(), clock: this.clock, logger: this.logger });
  }

  /** `GET /authorization/202309/shops` (no shop_cipher) → `data.shops` (key fact 7). */
  async authorizedShops(): Promise<readonly AuthorizedShop[]> {
    const data = await this.api('shops', 'GET', '/authorization/202309/shops', { shop: false });
    return isRecord(data) && Array.isArray(data.shops) ? data.shops.filter(isRecord) : [];
  }

  /**
   * `GET /event/202309/webhooks` → `data.webhooks[{event_type, address}]`: the shop's own webhook addresses (tiktok-shop.md
   * §4). The app-wide URL set in Partner Center is not listed.
   */
  async shopWebhooks(): Promise<Array<{ eventType: string; address: string }>> {
    const data = await this.api('webhooks', 'GET', '/event/202309/webhooks', { shop: true });
    const list = isRecord(data) && Array.isArray(data.webhooks) ? data.webhooks.filter(isRecord) : [];
    return list.flatMap((w) => (typeof w.event_type === 'string' && typeof w.address === 'string' ? [{ eventType: w.event_type, address: w.address }] : []));
  }

  /** `POST …/conversations/{id}/messages` `{type, content}` → `data.message_id`. */
  async sendMessage(conversationId: string, body: TikTokShopSendBody, opts: { windowClosedAt?: number } = {}): Promise<{ messageId?: string }> {
    const data = await this.api('send', 'POST', `/customer_service/202309/conversations/${encodeURIComponent(conversationId)}/messages`, { shop: true, json: JSON.stringify(body), ...opts });
    const messageId = isRecord(data) && typeof data.message_id === 'string' && data.message_id !== '' ? data.message_id : undefined;
    return messageId ? { messageId } : {};
  }

  /** `POST /customer_service/202309/images/upload`, multipart field `data` (key fact 10) → the URL to send. */
  async uploadImage(bytes: Uint8Array, mime: string, filename: string): Promise<{ url: string; width: number; height: number }> {
    const form = new FormData();
    // A copy: Blob takes only ArrayBuffer-backed views.
    form.set('data', new Blob([new Uint8Array(bytes)], { type: mime }), filename);
    const data = await this.api('upload', 'POST', '/customer_service/202309/images/upload', { shop: true, form });
    const d = isRecord(data) ? data : {};
    const size = (v: unknown) => (typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : 0);
    if (typeof d.url !== 'string' || d.url === '') {
      throw new RetryableError('TikTok Shop accepted the image but returned no URL; the bridge retried but it kept failing, so the message was not sent.', { reason: 'GeneralError' });
    }
    return { url: d.url, width: size(d.width), height: size(d.height) };
  }

  /**
   * `POST …/conversations/{id}/messages/read`: marks the buyer's messages read, as the CS app rules ask before a
   * reply (reference §5 Receipts). Sent without a body unless `markReadBody: empty-object` (UNCONFIRMED, §2).
   */
  async markRead(conversationId: string): Promise<void> {
    const json = this.connection.markReadBody === 'empty-object' ? '{}' : undefined;
    await this.api('read', 'POST', `/customer_service/202309/conversations/${encodeURIComponent(conversationId)}/messages/read`, { shop: true, ...(json ? { json } : {}) });
  }

  /** There is no single-conversation GET in 202309: the newest conversations are paged until it is found. */
  async findConversation(conversationId: string): Promise<TikTokShopConversation | undefined> {
    let pageToken = '';
    for (let page = 0; page < CONVERSATION_PAGES; page++) {
      const data = await this.api('conversations', 'GET', '/customer_service/202309/conversations', { shop: true, query: { page_size: '20', page_token: pageToken } });
      const list = isRecord(data) && Array.isArray(data.conversations) ? data.conversations.filter(isRecord) : [];
      const found = list.find((c) => String(c.id) === conversationId);
      if (found) return conversationOf(found);
      pageToken = isRecord(data) && typeof data.next_page_token === 'string' ? data.next_page_token : '';
      if (pageToken === '') return undefined;
    }
    return undefined;
  }

  /** `POST /customer_service/202309/conversations` `{buyer_user_id}`: creates or reopens (same id) the conversation. */
  async createConversation(buyerUserId: string): Promise<string> {
    const data = await this.api('create_conversation', 'POST', '/customer_service/202309/conversations', { shop: true, json: JSON.stringify({ buyer_user_id: buyerUserId }) });
    const id = isRecord(data) && typeof data.conversation_id === 'string' ? data.conversation_id : undefined;
    if (!id) throw new RetryableError('TikTok Shop reopened the conversation but returned no id; the message was not sent.', { reason: 'GeneralError' });
    return id;
  }

  /**
   * Before the first message of a reply, TikTok's own verdict is checked: each conversation says whether the seller
   * may write in it (`can_send_message`, https://partner.tiktokshop.com/docv2/page/650a589f0fcef602bf29fecf), and the
   * reference's rule is to check it and fail locally (tiktok-shop.md §5 Window): `false` refuses the reply before
   * anything is sent. A conversation the
   * bridge counts closed (`closedAt`) is then reopened with Create Conversation, and the id to send to returned.
   * Not among the newest conversations, or no buyer id: the reply is sent as it is, TikTok's answer (45109001) has
   * the last word.
   */
  async prepareReply(conversationId: string, opts: { closedAt?: number } = {}): Promise<string> {
    const conversation = await this.findConversation(conversationId);
    if (conversation?.canSendMessage === false) throw tiktokShopCannotWrite({ ...opts, now: this.clock() });
    const userId = conversation?.buyer?.userId;
    if (opts.closedAt === undefined || userId === undefined) return conversationId;
    const reopened = await this.createConversation(userId);
    if (reopened !== conversationId) this.logger.warn({ connectionId: this.connection.id }, 'tiktok_shop.reopened_with_new_conversation_id');
    return reopened;
  }

  /** The current URL of a message's image or video (`GET …/conversations/{id}/messages`, newest first). */
  async freshMediaUrl(conversationId: string, messageId: string): Promise<string | undefined> {
    let pageToken = '';
    for (let page = 0; page < MESSAGE_PAGES; page++) {
      const data = await this.api('messages', 'GET', `/customer_service/202309/conversations/${encodeURIComponent(conversationId)}/messages`, {
        shop: true,
        query: { page_size: '10', page_token: pageToken, sort_order: 'DESC' },
      });
      const list = isRecord(data) && Array.isArray(data.messages) ? data.messages.filter(isRecord) : [];
      const found = list.find((m) => String(m.id) === messageId);
      if (found) return urlOfContent(found.content);
      pageToken = isRecord(data) && typeof data.next_page_token === 'string' ? data.next_page_token : '';
      if (pageToken === '') return undefined;
    }
    return undefined;
  }

  /** The access token and cipher that Indonesian image links need (https://partner.tiktokshop.com/docv2/page/hrilusvh). */
  async mediaCredentials(): Promise<{ accessToken: string; shopCipher: string } | undefined> {
    const shop = await this.shop.get();
    return shop.region === 'ID' ? { accessToken: await this.tokens.getAccessToken(), shopCipher: shop.cipher } : undefined;
  }

  // ---- plumbing ----

  /**
   * One signed call with the current token, returning `data` of a `code: 0` answer. On 105002 the token is renewed
   * and the call repeated once; on 106013 the cipher is looked up again and the call repeated once.
   */
  private async api(
    operation: TikTokShopOperation,
    method: HttpRequestInit['method'],
    path: string,
    opts: { shop: boolean; query?: Record<string, string>; json?: string; form?: FormData; windowClosedAt?: number },
  ): Promise<unknown> {
    let token = await this.tokens.getAccessToken();
    for (let attempt = 0; ; attempt++) {
      const cipher = opts.shop ? (await this.shop.get()).cipher : undefined;
      // Paced before the timestamp is taken: it must be within now − 5 min … now + 30 s when TikTok reads it.
      await this.pace(operation);
      const { body, contentType } = await encode(opts);
      const query = { app_key: this.connection.appKey, timestamp: String(Math.floor(this.clock() / 1000)), ...(cipher ? { shop_cipher: cipher } : {}), ...opts.query };
      // The body is signed as the exact bytes sent; multipart bodies are not signed (§2 step 4).
      const url = signedTikTokShopUrl(this.connection.apiBaseUrl, { appSecret: this.connection.appSecret, path, query, ...(opts.json !== undefined ? { body: opts.json } : {}) });
      const headers: Record<string, string> = { accept: 'application/json', 'x-tts-access-token': token, ...(contentType ? { 'content-type': contentType } : {}) };
      const { response, bodyText, envelope } = await this.call(operation, url, { method, headers, ...(body !== undefined ? { body } : {}) });
      const error = classifyTikTokShopError(response.status, envelope ?? bodyText, {
        shopId: this.connection.shopId,
        now: this.clock(),
        ...(opts.windowClosedAt !== undefined ? { windowClosedAt: opts.windowClosedAt } : {}),
      });
      const fields = { operation, connectionId: this.connection.id, status: response.status, code: envelope?.code, requestId: envelope?.request_id };
      if (!error) {
        this.logger.debug(fields, 'tiktok_shop.request_ok');
        return envelope?.data;
      }
      if (attempt === 0 && error instanceof TikTokShopTokenError) {
        this.logger.info(fields, 'tiktok_shop.token_rejected');
        token = await this.tokens.refresh({ rejected: token });
        continue;
      }
      if (attempt === 0 && opts.shop && envelope?.code === 106013) {
        this.logger.info(fields, 'tiktok_shop.cipher_rejected');
        await this.shop.forget();
        continue;
      }
      // Scope, credentials, signing, IP allow list, the daily quota: the operator's alert (reference §3 Errors).
      const admin = envelope?.code !== undefined && TTS_ADMIN_CODES.has(envelope.code);
      (admin ? this.logger.error.bind(this.logger) : this.logger.warn.bind(this.logger))({ ...fields, outcome: error.name, reason: error.reason }, 'tiktok_shop.request_failed');
      throw error;
    }
  }

  /** The answer and its envelope, read once for the metric and for the caller. */
  private async call(operation: TikTokShopOperation, url: string, init: HttpRequestInit): Promise<HttpResult & { envelope: TikTokApiEnvelope | undefined }> {
    try {
      const result = await this.http(url, init, this.connection.timeoutMs);
      const envelope = tiktokApiEnvelopeOf(result.bodyText);
      this.count(operation, envelope?.code !== undefined && envelope.code !== 0 ? `code_${envelope.code}` : String(result.response.status));
      return { ...result, envelope };
    } catch (err) {
      const { error, statusLabel } = classifyTikTokShopFetchError(err, this.connection.timeoutMs);
      this.count(operation, statusLabel);
      this.logger.warn({ operation, connectionId: this.connection.id, status: statusLabel }, 'tiktok_shop.request_failed');
      throw error;
    }
  }

  /** Spaces the calls of one API so this instance stays under `maxRequestsPerSecond` (key fact 11). */
  private async pace(operation: TikTokShopOperation): Promise<void> {
    const now = Date.now();
    const at = Math.max(now, this.nextSlot.get(operation) ?? 0);
    this.nextSlot.set(operation, at + 1000 / this.connection.maxRequestsPerSecond);
    if (at > now) await new Promise((resolve) => setTimeout(resolve, at - now));
  }

  private count(operation: string, status: string): void {
    this.metrics?.outboundRequests.inc({ target: 'tiktok-shop', operation, status });
  }
}

async function encode(opts: { json?: string; form?: FormData }): Promise<{ body?: string | Uint8Array; contentType?: string }> {
  if (opts.form) return encodeMultipart(opts.form);
  return opts.json !== undefined ? { body: opts.json, contentType: 'application/json' } : { contentType: 'application/json' };
}

function conversationOf(raw: Record<string, unknown>): TikTokShopConversation {
  const participants = Array.isArray(raw.participants) ? raw.participants.filter(isRecord) : [];
  const buyer = participants.find((p) => p.role === 'BUYER');
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  return {
    id: String(raw.id),
    ...(typeof raw.can_send_message === 'boolean' ? { canSendMessage: raw.can_send_message } : {}),
    ...(buyer
      ? {
          buyer: Object.fromEntries(
            Object.entries({ imUserId: str(buyer.im_user_id), userId: str(buyer.user_id), nickname: str(buyer.nickname), avatar: str(buyer.avatar) }).filter((e) => e[1] !== undefined),
          ),
        }
      : {}),
  };
}

/** `content` is a JSON string holding `url` for IMAGE, VIDEO and EMOTICONS. */
function urlOfContent(content: unknown): string | undefined {
  try {
    const parsed = typeof content === 'string' ? (JSON.parse(content) as unknown) : content;
    return isRecord(parsed) && typeof parsed.url === 'string' && URL.canParse(parsed.url) ? parsed.url : undefined;
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
