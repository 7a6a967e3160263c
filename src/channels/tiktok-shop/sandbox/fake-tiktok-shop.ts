/**
 * A fake TikTok Shop Open API (API and auth hosts on one origin) on 127.0.0.1 for tests and the sandbox. It refuses
 * what the real one refuses (tiktok-shop.md §6 "Local fake"): a bad `sign` (106001), an `app_key` or `timestamp`
 * outside now − 5 min … now + 30 s (36009004), a missing, unknown or expired `x-tts-access-token` (105002), a missing
 * or foreign `shop_cipher` (106013), page sizes over 20 / 10, a text over 2000 characters, an IMAGE not uploaded
 * here, a closed conversation (45109001), an ineligible buyer (45109003), and unknown paths (HTTP 404). Answers use
 * the envelope `{code, message, request_id, data}`; `content` is a JSON string. It rotates the refresh token, serves
 * buyer images whose URLs can be made to expire, plays the buyer by posting signed webhooks to the bridge, and posts
 * the echo of every accepted send (before answering it: the worst order the bridge must handle).
 *
 * `url` is both the connection's `apiBaseUrl` and its `authBaseUrl`.
 */
import { randomUUID } from 'node:crypto';
import { Hono, type Context } from 'hono';
import { listenOnLoopback } from '../../../net/loopback.js';
import { signTikTokShopRequest } from '../sign.js';
import { signTikTokShopWebhook } from '../verify.js';

export interface FakeBuyer {
  imUserId: string;
  /** The Order API's buyer id: what Create Conversation takes. */
  userId: string;
  nickname: string;
  avatar?: string;
}

export interface FakeConversation {
  id: string;
  buyer: FakeBuyer;
  /** TikTok's eligibility verdict (`can_send_message`); default true. */
  canSendMessage?: boolean;
}

export interface FakeTikTokShopOptions {
  port?: number;
  appKey: string;
  appSecret: string;
  shopId: string;
  shopCipher: string;
  /** The shop's market; `ID` makes image links need the token and cipher. Default `GB`. */
  region?: string;
  accessToken: string;
  refreshToken: string;
  /** Lifetime of refreshed access tokens, seconds (default 7 days). */
  accessTokenTtlSec?: number;
  /** Whether a refresh hands out a new refresh token (UNCONFIRMED in reality; default true, the harder case). */
  rotateRefreshToken?: boolean;
  conversations?: FakeConversation[];
  /** Where buyer messages and echoes are posted (`{bridgeUrl}/webhooks/tiktok-shop`); none: nothing is posted. */
  bridgeUrl?: string;
  /**
   * The time of the world the fake lives in (default real time): it stamps messages and webhooks with it and checks
   * the callers' signed `timestamp` and token expiry against it (the sandbox's clock can run ahead of real time).
   */
  clock?: () => number;
}

/** One API call as the fake answered it. */
export interface FakeTikTokShopCall {
  /** Epoch ms, real time (as every record of the fake: `clock` is for what TikTok Shop would stamp or check). */
  at: number;
  /** `POST /customer_service/202309/conversations/…/messages`. */
  request: string;
  /** The request body: parsed JSON, or `{ multipart: bytes }` for an upload; absent when empty. */
  body?: unknown;
  code: number;
  data: unknown;
}

/** A webhook the fake posted to the bridge, as sent. */
export interface FakeTikTokShopWebhook {
  /** Epoch ms, real time. */
  at: number;
  path: string;
  headers: Record<string, string>;
  body: string;
  status: number;
  answer: string;
}

export type FakeEndpoint = 'shops' | 'conversations' | 'messages' | 'send' | 'read' | 'create' | 'upload' | 'refresh';

interface StoredMessage {
  id: string;
  type: string;
  /** Content without `url` for media: the URL is made when listed, so that it can expire. */
  content: Record<string, unknown>;
  mediaId?: string;
  role: string;
  imUserId: string;
  createTime: number;
}

export interface FakeTikTokShop {
  url: string;
  sends: Array<{ conversationId: string; body: { type: string; content: string }; messageId: string; accessToken: string; at: number }>;
  uploads: Array<{ url: string; bytes: number; mime: string; filename: string }>;
  reads: string[];
  /** `buyer_user_id`s of Create Conversation calls. */
  creates: string[];
  refreshes: Array<{ refreshToken: string; ok: boolean; accessToken?: string; newRefreshToken?: string }>;
  /** Every API call: `GET /path → code`. */
  traffic: string[];
  /** Every API call with its time, body and answer. */
  calls: FakeTikTokShopCall[];
  /** The echoes of accepted sends posted to the bridge. */
  echoes: FakeTikTokShopWebhook[];
  /** The next `n` calls to `on` answer `code` (HTTP 200 unless `httpStatus`). */
  failNext(n: number, code: number, opts?: { on?: FakeEndpoint; httpStatus?: number; message?: string }): void;
  /** Every access token issued so far stops working, as if it expired. */
  expireAccessToken(): void;
  currentTokens(): { accessToken: string; refreshToken: string };
  addConversation(conversation: FakeConversation): void;
  /** Sends answer 45109001 until Create Conversation reopens it. */
  closeConversation(conversationId: string): void;
  /** Every media URL handed out so far answers 403; Get Conversation Messages hands out fresh ones. */
  expireMediaUrls(): void;
  mediaBytes(mediaId: string): Uint8Array;
  /** Plays the buyer: stores the message and posts its signed type 14 webhook (when there is a bridge: else status 0). */
  buyerSends(
    conversationId: string,
    message: { type: string; content: Record<string, unknown>; imageBytes?: Uint8Array },
  ): Promise<{ status: number; body: string; messageId: string; webhook?: FakeTikTokShopWebhook }>;
  /** Signs and posts any notification to the bridge. */
  postWebhook(envelope: Record<string, unknown>): Promise<{ status: number; body: string; webhook: FakeTikTokShopWebhook }>;
  close(): Promise<void>;
}

const TEXT_LIMIT = 2000;
const IMAGE_MAX_BYTES = 10 * 1024 * 1024;
const SEND_TYPES = new Set(['TEXT', 'IMAGE', 'PRODUCT_CARD', 'ORDER_CARD', 'RETURN_REFUND_CARD', 'COUPON_CARD']);

export async function startFakeTikTokShop(opts: FakeTikTokShopOptions): Promise<FakeTikTokShop> {
  const app = { appKey: opts.appKey, appSecret: opts.appSecret };
  const region = opts.region ?? 'GB';
  const now = opts.clock ?? Date.now;
  const bodies = new WeakMap<Request, Uint8Array>(); // raw bodies of signed calls, for the call log
  const failures = new Map<FakeEndpoint, Array<{ code: number; httpStatus: number; message: string }>>();
  const accessTokens = new Map<string, number>([[opts.accessToken, Infinity]]);
  let refreshToken = opts.refreshToken;
  let latestAccess = opts.accessToken;
  const conversations = new Map<string, FakeConversation & { closed: boolean; messages: StoredMessage[] }>();
  const uploaded = new Set<string>();
  const media = new Map<string, Uint8Array>();
  let mediaGeneration = 0;
  let counter = 0;
  let origin = '';
  const shopIm = `${opts.shopId.slice(0, 10)}00000002`;

  const fake: FakeTikTokShop = {
    url: '',
    sends: [],
    uploads: [],
    reads: [],
    creates: [],
    refreshes: [],
    traffic: [],
    calls: [],
    echoes: [],
    failNext(n, code, o = {}) {
      const list = failures.get(o.on ?? 'send') ?? [];
      for (let i = 0; i < n; i++) list.push({ code, httpStatus: o.httpStatus ?? 200, message: o.message ?? `Injected error ${code}` });
      failures.set(o.on ?? 'send', list);
    },
    expireAccessToken: () => accessTokens.forEach((_v, token) => accessTokens.set(token, 0)),
    currentTokens: () => ({ accessToken: latestAccess, refreshToken }),
    addConversation: (c) => void conversations.set(c.id, { ...c, closed: false, messages: [] }),
    closeConversation(id) {
      const c = conversations.get(id);
      if (c) c.closed = true;
    },
    expireMediaUrls: () => void mediaGeneration++,
    mediaBytes,
    async buyerSends(conversationId, message) {
      const c = conversations.get(conversationId);
      if (!c) throw new Error(`fake TikTok Shop: no conversation ${conversationId}`);
      const stored = store(c, message.type, message.content, 'BUYER', c.buyer.imUserId);
      if (stored.mediaId) media.set(stored.mediaId, message.imageBytes ?? mediaBytes(stored.mediaId));
      c.closed = false;
      if (!opts.bridgeUrl) return { status: 0, body: '', messageId: stored.id };
      const sent = await fake.postWebhook(newMessage(conversationId, stored));
      return { ...sent, messageId: stored.id };
    },
    async postWebhook(envelope) {
      if (!opts.bridgeUrl) throw new Error('fake TikTok Shop: no bridgeUrl to post to');
      const raw = JSON.stringify(envelope);
      const path = '/webhooks/tiktok-shop';
      const headers = { 'content-type': 'application/json', authorization: signTikTokShopWebhook(raw, app) };
      const at = Date.now();
      const res = await fetch(`${opts.bridgeUrl.replace(/\/+$/, '')}${path}`, { method: 'POST', headers, body: raw, signal: AbortSignal.timeout(10_000) });
      const answer = await res.text();
      return { status: res.status, body: answer, webhook: { at, path, headers, body: raw, status: res.status, answer } };
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  for (const c of opts.conversations ?? []) fake.addConversation(c);

  function nextId(): string {
    counter++;
    return `76${String(now()).slice(-10)}${String(counter).padStart(7, '0')}`;
  }

  function store(c: { messages: StoredMessage[] }, type: string, content: Record<string, unknown>, role: string, imUserId: string): StoredMessage {
    const rest = Object.fromEntries(Object.entries(content).filter(([key]) => key !== 'url'));
    const isMedia = type === 'IMAGE' || type === 'VIDEO' || type === 'EMOTICONS';
    const message: StoredMessage = { id: nextId(), type, content: rest, role, imUserId, createTime: Math.floor(now() / 1000), ...(isMedia ? { mediaId: randomUUID() } : {}) };
    c.messages.push(message);
    return message;
  }

  /** The message as TikTok lists or pushes it: `content` a JSON string, media with a current URL. */
  function wire(m: StoredMessage): Record<string, unknown> {
    const content = m.mediaId ? { ...m.content, url: `${origin}/im-media/${m.mediaId}?gen=${mediaGeneration}&x-expires=${m.createTime + 86_400}` } : m.content;
    return { id: m.id, type: m.type, content: JSON.stringify(content), create_time: m.createTime, is_visible: true, index: m.id, sender: { im_user_id: m.imUserId, role: m.role } };
  }

  function newMessage(conversationId: string, m: StoredMessage): Record<string, unknown> {
    const { id, ...rest } = wire(m);
    return { type: 14, tts_notification_id: nextId(), shop_id: opts.shopId, timestamp: Math.floor(now() / 1000), data: { ...rest, conversation_id: conversationId, message_id: id } };
  }

  const web = new Hono();

  function envelope(c: Context, code: number, message: string, data: unknown = {}, status = 200): Response {
    fake.traffic.push(`${c.req.method} ${new URL(c.req.url).pathname} → ${code}`);
    const raw = bodies.get(c.req.raw);
    const sent = raw === undefined || raw.length === 0 ? undefined : (jsonOf(raw) ?? { multipart: raw.length });
    fake.calls.push({ at: Date.now(), request: `${c.req.method} ${new URL(c.req.url).pathname}`, ...(sent !== undefined ? { body: sent } : {}), code, data });
    const body = { code, message, request_id: `${new Date(now()).toISOString().replace(/\D/g, '').slice(0, 14)}${randomUUID().slice(0, 8)}`, data };
    return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  }

  function injected(c: Context, on: FakeEndpoint): Response | undefined {
    const failure = failures.get(on)?.shift();
    return failure ? envelope(c, failure.code, failure.message, null, failure.httpStatus) : undefined;
  }

  // Token refresh (unsigned, key fact 6): absolute expiry timestamps; rotation unless disabled.
  web.get('/api/v2/token/refresh', (c) => {
    const q = new URL(c.req.url).searchParams;
    const failure = injected(c, 'refresh');
    if (failure) return failure;
    const presented = q.get('refresh_token') ?? '';
    const refuse = (code: number, message: string) => {
      fake.refreshes.push({ refreshToken: presented, ok: false });
      return envelope(c, code, message, null);
    };
    if (q.get('app_key') !== opts.appKey || q.get('app_secret') !== opts.appSecret) return refuse(36009004, 'Invalid app_key or app_secret.');
    if (q.get('grant_type') !== 'refresh_token') return refuse(36009004, 'grant_type must be refresh_token.');
    if (presented !== refreshToken) return refuse(105003, 'The refresh token is invalid or expired.');
    counter++;
    const access = `TTP_fake${counter}${randomUUID().slice(0, 8)}`;
    const seconds = Math.floor(now() / 1000);
    const ttl = opts.accessTokenTtlSec ?? 7 * 86_400;
    accessTokens.set(access, (seconds + ttl) * 1000);
    latestAccess = access;
    if (opts.rotateRefreshToken ?? true) refreshToken = `TTP_refresh${counter}${randomUUID().slice(0, 8)}`;
    fake.refreshes.push({ refreshToken: presented, ok: true, accessToken: access, newRefreshToken: refreshToken });
    return envelope(c, 0, 'success', {
      access_token: access,
      access_token_expire_in: seconds + ttl,
      refresh_token: refreshToken,
      refresh_token_expire_in: seconds + 365 * 86_400,
      open_id: '7010736057180325637',
      seller_name: 'Acme Test Shop',
      seller_base_region: region,
      user_type: 0,
    });
  });

  // Buyer media: signed, expiring URLs (key fact 21); ID shops need the token and cipher too.
  web.get('/im-media/:id', (c) => {
    const bytes = media.get((c.req.param('id') ?? ''));
    const q = new URL(c.req.url).searchParams;
    if (!bytes) return c.text('Not Found', 404);
    if (q.get('gen') !== String(mediaGeneration)) return c.text('Forbidden: the URL has expired', 403);
    if (region === 'ID') {
      const expiry = accessTokens.get(c.req.header('x-tts-access-token') ?? '');
      if (expiry === undefined || expiry <= now() || q.get('shop_cipher') !== opts.shopCipher) return c.text('Forbidden', 403);
    }
    return new Response(new Uint8Array(bytes), { status: 200, headers: { 'content-type': 'image/jpeg', 'content-length': String(bytes.length) } });
  });

  /** The checks every signed call passes, in TikTok's order; undefined when it may proceed. */
  function refusal(c: Context, raw: Uint8Array, shopScoped: boolean): Response | undefined {
    const url = new URL(c.req.url);
    const q = url.searchParams;
    if (q.get('app_key') !== opts.appKey) return envelope(c, 36009004, 'Invalid app_key.', null);
    const ts = Number(q.get('timestamp'));
    const seconds = now() / 1000;
    if (!Number.isInteger(ts) || ts < seconds - 300 || ts > seconds + 30) return envelope(c, 36009004, 'Invalid timestamp.', null);
    const multipart = (c.req.header('content-type') ?? '').startsWith('multipart/form-data');
    const query = Object.fromEntries(q.entries());
    const expected = signTikTokShopRequest({ appSecret: opts.appSecret, path: url.pathname, query, ...(multipart || raw.length === 0 ? {} : { body: raw }) });
    if (q.get('sign') !== expected) return envelope(c, 106001, 'Invalid sign.', null);
    const expiry = accessTokens.get(c.req.header('x-tts-access-token') ?? '');
    if (expiry === undefined || expiry <= now()) return envelope(c, 105002, 'The access token is invalid or has expired.', null);
    if (shopScoped && q.get('shop_cipher') !== opts.shopCipher) return envelope(c, 106013, 'Invalid shop_cipher.', null);
    return undefined;
  }

  /** A signed route: raw bytes read once, checks first, then the handler. */
  function signed(shopScoped: boolean, on: FakeEndpoint, handle: (c: Context, raw: Uint8Array) => Response | Promise<Response>) {
    return async (c: Context) => {
      const raw = new Uint8Array(await c.req.arrayBuffer());
      bodies.set(c.req.raw, raw);
      return refusal(c, raw, shopScoped) ?? injected(c, on) ?? handle(c, raw);
    };
  }

  web.get(
    '/authorization/202309/shops',
    signed(false, 'shops', (c) => envelope(c, 0, 'Success', { shops: [{ id: opts.shopId, name: 'Acme', region, seller_type: 'LOCAL', cipher: opts.shopCipher, code: 'GBLC12345' }] })),
  );

  web.get(
    '/customer_service/202309/conversations',
    signed(true, 'conversations', (c) => {
      const size = Number(new URL(c.req.url).searchParams.get('page_size'));
      if (!Number.isInteger(size) || size < 1 || size > 20) return envelope(c, 45101001, 'Invalid parameter: page_size must be 1-20.', null);
      const list = [...conversations.values()].reverse();
      const start = Number(new URL(c.req.url).searchParams.get('page_token') || '0');
      const page = list.slice(start, start + size).map((conv) => ({
        id: conv.id,
        participant_count: 2,
        can_send_message: conv.canSendMessage ?? true,
        unread_count: 0,
        create_time: 1772443000,
        participants: [
          { im_user_id: conv.buyer.imUserId, user_id: conv.buyer.userId, role: 'BUYER', nickname: conv.buyer.nickname, avatar: conv.buyer.avatar ?? '' },
          { im_user_id: shopIm, user_id: opts.shopId, role: 'SHOP', nickname: 'Acme', avatar: '' },
        ],
        latest_message: conv.messages.length > 0 ? wire(conv.messages.at(-1)!) : null,
      }));
      return envelope(c, 0, 'Success', { next_page_token: start + size < list.length ? String(start + size) : '', conversations: page });
    }),
  );

  web.get(
    '/customer_service/202309/conversations/:id/messages',
    signed(true, 'messages', (c) => {
      const conv = conversations.get((c.req.param('id') ?? ''));
      if (!conv) return envelope(c, 45101003, 'Record not found. Please check the parameters.', null);
      const q = new URL(c.req.url).searchParams;
      const size = Number(q.get('page_size'));
      if (!Number.isInteger(size) || size < 1 || size > 10) return envelope(c, 45101001, 'Invalid parameter: page_size must be 1-10.', null);
      const list = q.get('sort_order') === 'ASC' ? [...conv.messages] : [...conv.messages].reverse();
      const start = Number(q.get('page_token') || '0');
      return envelope(c, 0, 'Success', { next_page_token: start + size < list.length ? String(start + size) : '', unsupported_msg_tips: '', messages: list.slice(start, start + size).map(wire) });
    }),
  );

  web.post(
    '/customer_service/202309/conversations/:id/messages/read',
    signed(true, 'read', (c) => {
      const id = (c.req.param('id') ?? '');
      if (!conversations.has(id)) return envelope(c, 45101003, 'Record not found. Please check the parameters.', null);
      fake.reads.push(id);
      return envelope(c, 0, 'Success', {});
    }),
  );

  web.post(
    '/customer_service/202309/conversations/:id/messages',
    signed(true, 'send', async (c, raw) => {
      const id = (c.req.param('id') ?? '');
      const conv = conversations.get(id);
      if (!conv) return envelope(c, 45101003, 'Record not found. Please check the parameters.', null);
      const body = jsonOf(raw);
      const problem = sendProblem(body);
      if (problem) return envelope(c, 45101001, problem, null);
      if (conv.closed) return envelope(c, 45109001, 'Unable to send messages due to conversation rules.', null);
      const { type, content } = body as { type: string; content: string };
      const stored = store(conv, type, {}, 'SHOP', shopIm);
      stored.content = JSON.parse(content) as Record<string, unknown>;
      delete stored.mediaId;
      fake.sends.push({ conversationId: id, body: { type, content }, messageId: stored.id, accessToken: c.req.header('x-tts-access-token') ?? '', at: Date.now() });
      // Our own API send comes back as a type 14 (key fact 18), here before the send is answered.
      if (opts.bridgeUrl) {
        const echo = await fake.postWebhook(newMessage(id, stored)).catch(() => undefined);
        if (echo) fake.echoes.push(echo.webhook);
      }
      return envelope(c, 0, 'Success', { message_id: stored.id });
    }),
  );

  web.post(
    '/customer_service/202309/conversations',
    signed(true, 'create', (c, raw) => {
      const body = jsonOf(raw) as { buyer_user_id?: unknown } | undefined;
      if (typeof body?.buyer_user_id !== 'string') return envelope(c, 45101001, 'Invalid parameter: buyer_user_id is required.', null);
      fake.creates.push(body.buyer_user_id);
      const conv = [...conversations.values()].find((x) => x.buyer.userId === body.buyer_user_id);
      if (!conv || conv.canSendMessage === false) return envelope(c, 45109003, 'Unable to create the conversation due to conversation rules.', null);
      conv.closed = false;
      return envelope(c, 0, 'Success', { conversation_id: conv.id });
    }),
  );

  web.post(
    '/customer_service/202309/images/upload',
    signed(true, 'upload', async (c, raw) => {
      let file: unknown;
      try {
        file = (await new Response(new Uint8Array(raw), { headers: { 'content-type': c.req.header('content-type') ?? '' } }).formData()).get('data');
      } catch {
        return envelope(c, 45101001, 'Invalid parameter: the body must be multipart/form-data.', null);
      }
      if (!(file instanceof File)) return envelope(c, 45101001, 'Invalid parameter: data is required.', null);
      const bytes = new Uint8Array(await file.arrayBuffer());
      if (bytes.length > IMAGE_MAX_BYTES) return envelope(c, 45101001, 'Invalid parameter: the image exceeds 10 MB.', null);
      if (!isImage(bytes)) return envelope(c, 45111001, 'not support', null);
      const url = `https://p16-oec-va.ibyteimg.com/tos-maliva-i-o3syd03w52-us/${randomUUID().replace(/-/g, '')}~tplv-o3syd03w52-origin-image.image`;
      uploaded.add(url);
      fake.uploads.push({ url, bytes: bytes.length, mime: file.type, filename: file.name });
      return envelope(c, 0, 'Success', { url, width: 1280, height: 720 });
    }),
  );

  web.notFound((c) => {
    fake.traffic.push(`${c.req.method} ${new URL(c.req.url).pathname} → 404`);
    fake.calls.push({ at: Date.now(), request: `${c.req.method} ${new URL(c.req.url).pathname}`, code: 404, data: null });
    return c.text('Not Found', 404);
  });

  /** The first rule a Send Message body breaks (cs-send); undefined when valid. */
  function sendProblem(body: unknown): string | undefined {
    if (typeof body !== 'object' || body === null) return 'Invalid parameter: the body must be a JSON object.';
    const { type, content } = body as Record<string, unknown>;
    if (typeof type !== 'string' || !SEND_TYPES.has(type)) return `Invalid parameter: type must be one of ${[...SEND_TYPES].join(', ')}.`;
    if (typeof content !== 'string') return 'Invalid parameter: content must be a JSON string.';
    const parsed = jsonOf(new TextEncoder().encode(content)) as Record<string, unknown> | undefined;
    if (typeof parsed !== 'object' || parsed === null) return 'Invalid parameter: content must be a JSON string.';
    if (type === 'TEXT') {
      if (typeof parsed.content !== 'string' || parsed.content === '') return 'Invalid parameter: content.content is required.';
      if (parsed.content.length > TEXT_LIMIT) return `Invalid parameter: text must be at most ${TEXT_LIMIT} characters.`;
    }
    if (type === 'IMAGE' && (typeof parsed.url !== 'string' || !uploaded.has(parsed.url))) return 'Invalid parameter: the image url must come from Upload Buyer Messages Image.';
    return undefined;
  }

  const { server, origin: listening } = await listenOnLoopback(web, opts.port);
  origin = listening;
  fake.url = listening;
  return fake;
}

/** A small, valid-looking JPEG whose middle depends only on the media id. */
function mediaBytes(mediaId: string): Uint8Array {
  const seed = Buffer.from(`fake-tiktok-shop-media:${mediaId}`);
  const body = Buffer.alloc(256, 0).map((_b, i) => seed[i % seed.length]! ^ (i & 0xff));
  return new Uint8Array(Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), body, Buffer.from([0xff, 0xd9])]));
}

function isImage(bytes: Uint8Array): boolean {
  const starts = (sig: number[], at = 0) => sig.every((b, i) => bytes[at + i] === b);
  return starts([0xff, 0xd8, 0xff]) || starts([0x89, 0x50, 0x4e, 0x47]) || starts([0x47, 0x49, 0x46, 0x38]) || (starts([0x52, 0x49, 0x46, 0x46]) && starts([0x57, 0x45, 0x42, 0x50], 8));
}

function jsonOf(raw: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(raw).toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}
