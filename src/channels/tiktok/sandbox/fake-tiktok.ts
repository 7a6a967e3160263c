/**
 * A fake TikTok API for Business (Business Messaging v1.3) on 127.0.0.1 for tests, the sandbox and benchmarks.
 * It speaks the wire format of tiktok-messaging.md: every answer is HTTP 200 with the envelope
 * `{code, message, request_id, data}` and `code ≠ 0` for errors (key fact 6); `Access-Token` auth (a `Bearer`
 * prefix is 40105, key fact 2); token refresh that ROTATES the refresh token (key fact 5); send (§3); image upload
 * (multipart, JPG/PNG ≤ 3 MB, key fact 26); media download URLs fetched with `x-user` (key fact 25).
 *
 * `url` is the API base (`…/open_api/v1.3`), to be used as the connection's `apiBaseUrl`.
 */
import { randomUUID } from 'node:crypto';
import { Hono, type Context } from 'hono';
import { listenOnLoopback } from '../../../net/loopback.js';
import { serveAppAdministration } from './fake-tiktok-app.js';
import { envelope, isRecord, jsonBody } from './fake-tiktok-wire.js';

export interface FakeTikTokOptions {
  /** 0 or absent: any free port. */
  port?: number;
  /** The developer app (`client_id` on the token endpoints). */
  appId: string;
  appSecret: string;
  /** The business open_id: `business_id` on every call. */
  businessId: string;
  /** The tokens the connection starts with. */
  accessToken: string;
  refreshToken: string;
  /** `expires_in` of refreshed access tokens (default 86400). */
  accessTokenTtlSec?: number;
  /** Conversation ids the business may send to; any other is 40007. */
  conversations?: string[];
  /** The app's DIRECT_MESSAGE webhook URL, as `GET /business/webhook/list/` answers it; default: none configured. */
  webhookUrl?: string;
}

export type FakeTikTokEndpoint = 'send' | 'upload' | 'download' | 'refresh';

export interface FakeTikTokSend {
  body: unknown;
  /** `""` for sender actions, like TikTok. */
  messageId: string;
  /** The Access-Token header the call carried (this is a fake: tests check which token was used). */
  accessToken: string;
  at: number;
}

export interface FakeTikTokUpload {
  mediaId: string;
  bytes: number;
  mime: string;
  filename: string;
  at: number;
}

export interface FakeTikTokRefresh {
  /** The refresh token presented. */
  refreshToken: string;
  ok: boolean;
  /** The new tokens, when it succeeded. */
  accessToken?: string;
  newRefreshToken?: string;
  at: number;
}

export interface FakeTikTok {
  /** The API base, `http://127.0.0.1:<port>/open_api/v1.3`. */
  url: string;
  /** Accepted send calls (messages and sender actions), in arrival order. */
  sends: FakeTikTokSend[];
  uploads: FakeTikTokUpload[];
  /** The bytes an upload gave this media id. */
  uploadedBytes(mediaId: string): Uint8Array | undefined;
  refreshes: FakeTikTokRefresh[];
  /** Media download URL requests (the JSON bodies). */
  downloads: unknown[];
  /** The next `n` calls to `on` (default `send`) answer `code` (HTTP 200 unless `httpStatus`). */
  failNext(n: number, code: number, message?: string, opts?: { on?: FakeTikTokEndpoint; httpStatus?: number }): void;
  /** Forgets the failures `failNext` queued and that no call consumed yet. */
  clearFailures(): void;
  /** Every access token issued so far stops working (TikTok answers 40105), as if it expired mid-conversation. */
  expireAccessToken(): void;
  /** The currently valid access and refresh tokens (the latest issued). */
  currentTokens(): { accessToken: string; refreshToken: string };
  addConversation(conversationId: string): void;
  /** The app's DIRECT_MESSAGE webhook URL from now on (undefined: none), as if changed in the developer portal. */
  setWebhookUrl(url: string | undefined): void;
  /** Delay before every answer. */
  setLatency(ms: number): void;
  /**
   * Called for every accepted message with its message_id, and awaited before the send answers: TikTok may deliver
   * the `im_send_msg` echo before the send call returns (key fact 23); this is how a test plays that.
   */
  onMessageSent(hook: ((sent: { body: unknown; messageId: string }) => Promise<void> | void) | undefined): void;
  /** The deterministic bytes a download URL serves for a media id (a small JPEG), unless `addMedia` gave others. */
  mediaBytes(mediaId: string): Uint8Array;
  /** A customer's media: the download URL of `mediaId` serves these bytes (the sandbox's customer images). */
  addMedia(mediaId: string, bytes: Uint8Array, contentType: string): void;
  close(): Promise<void>;
}

const BASE_PATH = '/open_api/v1.3';
const TEXT_LIMIT = 6000;
const IMAGE_MAX_BYTES = 3 * 1024 * 1024;
const MESSAGE_TYPES = new Set(['TEXT', 'IMAGE', 'SHARE_POST', 'TEMPLATE', 'SENDER_ACTION']);

export async function startFakeTikTok(opts: FakeTikTokOptions): Promise<FakeTikTok> {
  let latencyMs = 0;
  let messageSent: ((sent: { body: unknown; messageId: string }) => Promise<void> | void) | undefined;
  let counter = 0;
  const failures: Record<FakeTikTokEndpoint, Array<{ code: number; message: string; httpStatus: number }>> = { send: [], upload: [], download: [], refresh: [] };
  const accessTokens = new Map<string, number>([[opts.accessToken, Infinity]]); // token → expiry (epoch ms)
  let refreshToken = opts.refreshToken;
  let latestAccessToken = opts.accessToken;
  const conversations = new Set(opts.conversations ?? []);
  let webhookUrl = opts.webhookUrl;
  const mediaIds = new Map<string, Uint8Array>();
  const downloadTokens = new Map<string, string>(); // download id → media id
  const customerMedia = new Map<string, { bytes: Uint8Array; contentType: string }>();

  const fake: FakeTikTok = {
    url: '',
    sends: [],
    uploads: [],
    uploadedBytes: (mediaId) => mediaIds.get(mediaId),
    refreshes: [],
    downloads: [],
    failNext(n, code, message, o = {}) {
      for (let i = 0; i < n; i++) failures[o.on ?? 'send'].push({ code, message: message ?? `Injected error ${code}`, httpStatus: o.httpStatus ?? 200 });
    },
    clearFailures() {
      for (const list of Object.values(failures)) list.length = 0;
    },
    expireAccessToken() {
      for (const token of accessTokens.keys()) accessTokens.set(token, 0);
    },
    currentTokens() {
      return { accessToken: latestAccessToken, refreshToken };
    },
    addConversation(conversationId) {
      conversations.add(conversationId);
    },
    setWebhookUrl(url) {
      webhookUrl = url;
    },
    setLatency(ms) {
      latencyMs = ms;
    },
    onMessageSent(hook) {
      messageSent = hook;
    },
    mediaBytes,
    addMedia(mediaId, bytes, contentType) {
      customerMedia.set(mediaId, { bytes, contentType });
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  const app = new Hono();
  app.use('*', async (_c, next) => {
    if (latencyMs > 0) await sleep(latencyMs);
    await next();
  });

  /** Access-Token exactly (no `Bearer `), issued and not expired (key fact 2). */
  function tokenProblem(c: Context): string | undefined {
    const header = c.req.header('access-token');
    if (header === undefined || header === '') return 'Access token is missing.';
    if (/^bearer\s/i.test(header)) return 'Access token is incorrect or has been revoked.';
    const expiry = accessTokens.get(header);
    if (expiry === undefined) return 'Access token is incorrect or has been revoked.';
    if (expiry <= Date.now()) return 'Access token has expired.';
    return undefined;
  }

  function injected(on: FakeTikTokEndpoint): Response | undefined {
    const failure = failures[on].shift();
    if (!failure) return undefined;
    return envelope(failure.code, failure.message, {}, failure.httpStatus);
  }

  serveAppAdministration(app, {
    appId: opts.appId,
    appSecret: opts.appSecret,
    businessId: opts.businessId,
    basePath: BASE_PATH,
    tokenState(token) {
      const expiry = accessTokens.get(token);
      return expiry === undefined ? 'unknown' : expiry <= Date.now() ? 'expired' : 'valid';
    },
    webhookUrl: () => webhookUrl,
  });

  // Token refresh: POST /tt_user/oauth2/refresh_token/ (key fact 5), no Access-Token.
  app.post(`${BASE_PATH}/tt_user/oauth2/refresh_token/`, async (c) => {
    const body = await jsonBody(c);
    const failure = injected('refresh');
    if (failure) return failure;
    if (!isRecord(body)) return envelope(40002, 'The request body must be JSON.');
    const presented = typeof body.refresh_token === 'string' ? body.refresh_token : '';
    const refused = (code: number, message: string) => {
      fake.refreshes.push({ refreshToken: presented, ok: false, at: Date.now() });
      return envelope(code, message);
    };
    if (body.client_id !== opts.appId) return refused(40002, 'Param client_id is invalid.');
    if (body.client_secret !== opts.appSecret) return refused(40002, 'Param client_secret is invalid.');
    if (body.grant_type !== 'refresh_token') return refused(40002, 'Param grant_type must be refresh_token.');
    if (presented !== refreshToken) return refused(40105, 'The refresh token is invalid or has expired.');
    counter++;
    const newAccess = `act.fake-${counter}-${randomUUID().slice(0, 8)}`;
    const newRefresh = `rft.fake-${counter}-${randomUUID().slice(0, 8)}`;
    const ttl = opts.accessTokenTtlSec ?? 86_400;
    accessTokens.set(newAccess, Date.now() + ttl * 1000);
    // Rotation: the presented refresh token is dead from now on.
    refreshToken = newRefresh;
    latestAccessToken = newAccess;
    fake.refreshes.push({ refreshToken: presented, ok: true, accessToken: newAccess, newRefreshToken: newRefresh, at: Date.now() });
    return envelope(0, 'OK', {
      access_token: newAccess,
      token_type: 'Bearer',
      scope: 'message.list.read,message.list.send,message.list.manage',
      expires_in: ttl,
      refresh_token: newRefresh,
      refresh_token_expires_in: 365 * 86_400,
      open_id: opts.businessId,
    });
  });

  // Send: POST /business/message/send/ (§3).
  app.post(`${BASE_PATH}/business/message/send/`, async (c) => {
    const failure = injected('send');
    if (failure) return failure;
    const bad = tokenProblem(c);
    if (bad) return envelope(40105, bad);
    const body = await jsonBody(c);
    const problem = sendProblem(body);
    if (problem) return envelope(problem.code, problem.message);
    const send = body as Record<string, unknown>;
    const messageId = send.message_type === 'SENDER_ACTION' ? '' : freshMessageId();
    fake.sends.push({ body, messageId, accessToken: c.req.header('access-token') ?? '', at: Date.now() });
    if (messageId !== '') await messageSent?.({ body, messageId });
    return envelope(0, 'OK', { message: { message_id: messageId } });
  });

  // Image upload: POST /business/message/media/upload/ multipart (key fact 26).
  app.post(`${BASE_PATH}/business/message/media/upload/`, async (c) => {
    const failure = injected('upload');
    if (failure) return failure;
    const bad = tokenProblem(c);
    if (bad) return envelope(40105, bad);
    let form: Record<string, unknown>;
    try {
      form = (await c.req.parseBody()) as Record<string, unknown>;
    } catch {
      return envelope(40002, 'The request must be multipart/form-data.');
    }
    if (form.business_id !== opts.businessId) return envelope(40001, 'No permission to operate this business_id.');
    if (form.media_type !== 'IMAGE') return envelope(40002, 'Param media_type must be IMAGE.');
    const file = form.file;
    if (!(file instanceof File)) return envelope(40002, 'Param file is required.');
    const bytes = new Uint8Array(await file.arrayBuffer());
    if (!isJpegOrPng(bytes)) return envelope(40908, 'Unsupported file type. Only JPG and PNG images are supported.');
    if (bytes.length > IMAGE_MAX_BYTES) return envelope(40002, 'The file size exceeds the limit of 3 MB.');
    const mediaId = `v10044g50000${randomUUID().replace(/-/g, '').slice(0, 16)}`;
    mediaIds.set(mediaId, bytes);
    fake.uploads.push({ mediaId, bytes: bytes.length, mime: file.type, filename: file.name, at: Date.now() });
    return envelope(0, 'OK', { media_id: mediaId });
  });

  // Media download URL: POST /business/message/media/download/ (key fact 25).
  app.post(`${BASE_PATH}/business/message/media/download/`, async (c) => {
    const failure = injected('download');
    if (failure) return failure;
    const bad = tokenProblem(c);
    if (bad) return envelope(40105, bad);
    const body = await jsonBody(c);
    if (!isRecord(body)) return envelope(40002, 'The request body must be JSON.');
    fake.downloads.push(body);
    if (body.business_id !== opts.businessId) return envelope(40001, 'No permission to operate this business_id.');
    for (const field of ['conversation_id', 'message_id', 'media_id'] as const) {
      if (!isNonEmptyString(body[field])) return envelope(40002, `Param ${field} is required.`);
    }
    if (body.media_type !== 'IMAGE' && body.media_type !== 'VIDEO') return envelope(40002, 'Param media_type must be IMAGE or VIDEO.');
    if (!conversations.has(body.conversation_id as string)) return envelope(40007, 'The conversation does not exist.');
    const id = randomUUID();
    downloadTokens.set(id, body.media_id as string);
    const origin = new URL(c.req.url).origin;
    return envelope(0, 'OK', { download_url: `${origin}/media/${id}?x-expires=${Math.floor(Date.now() / 1000) + 86_400}` });
  });

  // The download URL itself: needs `x-user: <access token>` (key fact 25).
  app.get('/media/:id', (c) => {
    const mediaId = downloadTokens.get(c.req.param('id'));
    if (mediaId === undefined) return c.text('Not Found', 404);
    const user = c.req.header('x-user');
    const expiry = user === undefined ? undefined : accessTokens.get(user);
    if (expiry === undefined || expiry <= Date.now()) return c.text('Forbidden', 403);
    const { bytes, contentType } = customerMedia.get(mediaId) ?? { bytes: mediaBytes(mediaId), contentType: 'image/jpeg' };
    return new Response(new Uint8Array(bytes), { status: 200, headers: { 'content-type': contentType, 'content-length': String(bytes.length) } });
  });

  app.notFound(() => envelope(40002, 'Unknown path.', {}, 404));

  /** The first rule the body breaks, as TikTok's code and message; undefined when it is valid (§3). */
  function sendProblem(body: unknown): { code: number; message: string } | undefined {
    const param = (message: string) => ({ code: 40002, message });
    if (!isRecord(body)) return param('The request body must be a JSON object.');
    if (body.business_id !== opts.businessId) return { code: 40001, message: 'No permission to operate this business_id.' };
    if (body.recipient_type !== 'CONVERSATION') return param('Param recipient_type must be CONVERSATION.');
    if (!isNonEmptyString(body.recipient)) return param('Param recipient is required.');
    if (!conversations.has(body.recipient)) return { code: 40007, message: 'The conversation does not exist.' };
    const type = body.message_type;
    if (typeof type !== 'string' || !MESSAGE_TYPES.has(type)) return param(`Param message_type must be one of ${[...MESSAGE_TYPES].join(', ')}.`);
    if (body.referenced_message_info !== undefined) {
      if (type !== 'TEXT') return param('Param referenced_message_info is only supported with TEXT.');
      const ref = body.referenced_message_info;
      if (!isRecord(ref) || !isNonEmptyString(ref.referenced_message_id)) return param('Param referenced_message_info.referenced_message_id is required.');
    }
    switch (type) {
      case 'TEXT': {
        const text = isRecord(body.text) ? body.text.body : undefined;
        if (!isNonEmptyString(text)) return param('Param text.body is required.');
        if (text.length > TEXT_LIMIT) return param(`Param text.body must be at most ${TEXT_LIMIT} characters.`);
        return undefined;
      }
      case 'IMAGE': {
        const mediaId = isRecord(body.image) ? body.image.media_id : undefined;
        if (!isNonEmptyString(mediaId)) return param('Param image.media_id is required.');
        return mediaIds.has(mediaId) ? undefined : { code: 40007, message: 'The media does not exist.' };
      }
      case 'TEMPLATE':
        return templateProblem(body.template);
      case 'SENDER_ACTION':
        return body.sender_action === 'TYPING' || body.sender_action === 'MARK_READ' ? undefined : param('Param sender_action must be TYPING or MARK_READ.');
      default: {
        const share = isRecord(body.share_post) ? body.share_post.item_id : undefined;
        return isNonEmptyString(share) ? undefined : param('Param share_post.item_id is required.');
      }
    }
  }

  const { server, origin } = await listenOnLoopback(app, opts.port);
  fake.url = `${origin}${BASE_PATH}`;
  return fake;
}

/** QA_BUTTON_CARD / QA_LINK_CARD: title ≤ 40, 1–3 buttons, button title ≤ 20 (≤ 40 link card), id ≤ 40 (§3). */
function templateProblem(template: unknown): { code: number; message: string } | undefined {
  const param = (message: string) => ({ code: 40002, message });
  if (!isRecord(template)) return param('Param template is required.');
  const link = template.type === 'QA_LINK_CARD';
  if (template.type !== 'QA_BUTTON_CARD' && !link) return param('Param template.type must be QA_BUTTON_CARD or QA_LINK_CARD.');
  if (!isNonEmptyString(template.title) || [...template.title].length > 40) return param('Param template.title must be 1 to 40 characters.');
  const buttons = template.buttons;
  if (!Array.isArray(buttons) || buttons.length < 1 || buttons.length > 3) return param('Param template.buttons must hold 1 to 3 buttons.');
  const titleMax = link ? 40 : 20;
  for (const [i, b] of buttons.entries()) {
    if (!isRecord(b) || !isNonEmptyString(b.title) || [...b.title].length > titleMax) return param(`Param template.buttons[${i}].title must be 1 to ${titleMax} characters.`);
    if (!link && (b.type !== 'REPLY' || !isNonEmptyString(b.id) || [...b.id].length > 40)) return param(`Param template.buttons[${i}] must be a REPLY button with an id of 1 to 40 characters.`);
  }
  return undefined;
}


/** A small, valid-looking JPEG (SOI … EOI) whose middle depends only on the media id. */
function mediaBytes(mediaId: string): Uint8Array {
  const seed = Buffer.from(`fake-tiktok-media:${mediaId}`);
  const body = Buffer.alloc(512);
  for (let i = 0; i < body.length; i++) body[i] = seed[i % seed.length]! ^ (i & 0xff);
  return new Uint8Array(Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), body, Buffer.from([0xff, 0xd9])]));
}

function isJpegOrPng(bytes: Uint8Array): boolean {
  const jpeg = bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
  const png = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a].every((b, i) => bytes[i] === b);
  return jpeg || png;
}



/** Base64-like and may contain `+`, `/`, `=` (key fact 31). */
function freshMessageId(): string {
  return Buffer.from(randomUUID().replace(/-/g, ''), 'hex').toString('base64');
}


function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
