/**
 * What every call to the fake TikTok Shop Open API goes through: the answer envelope `{code, message, request_id,
 * data}` (recorded in the call log), failures a test injected, and the checks of a signed call in TikTok's order
 * (tiktok-shop.md §6 "Local fake"; https://partner.tiktokshop.com/docv2/page/678e3a3d4ddec3030b238faf):
 * `app_key` and `timestamp` within now − 5 min … now + 30 s (36009004), `sign` (106001), a known unexpired
 * `x-tts-access-token` (105002), the shop's `shop_cipher` on shop data (106013).
 */
import { randomUUID } from 'node:crypto';
import type { Context } from 'hono';
import { signTikTokShopRequest } from '../sign.js';
import type { FakeTokens } from './fake-shop-tokens.js';

export type FakeEndpoint = 'shops' | 'webhooks' | 'conversations' | 'messages' | 'send' | 'read' | 'create' | 'upload' | 'refresh';

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

export interface FakeInjectedFailure {
  code: number;
  httpStatus: number;
  message: string;
}

export class FakeShopGate {
  /** Every API call: `GET /path → code`. */
  readonly traffic: string[] = [];
  readonly calls: FakeTikTokShopCall[] = [];
  private readonly bodies = new WeakMap<Request, Uint8Array>();
  private readonly failures = new Map<FakeEndpoint, FakeInjectedFailure[]>();

  constructor(
    private readonly app: { appKey: string; appSecret: string; shopCipher: string },
    private readonly tokens: FakeTokens,
    private readonly now: () => number,
  ) {}

  /** The next `n` calls to `on` answer `code` (HTTP 200 unless `httpStatus`). */
  failNext(n: number, code: number, o: { on?: FakeEndpoint; httpStatus?: number; message?: string } = {}): void {
    const list = this.failures.get(o.on ?? 'send') ?? [];
    for (let i = 0; i < n; i++) list.push({ code, httpStatus: o.httpStatus ?? 200, message: o.message ?? `Injected error ${code}` });
    this.failures.set(o.on ?? 'send', list);
  }

  /** Answers in TikTok's envelope and records the call with the raw body it came with. */
  envelope(c: Context, code: number, message: string, data: unknown = {}, status = 200): Response {
    const path = new URL(c.req.url).pathname;
    this.traffic.push(`${c.req.method} ${path} → ${code}`);
    const raw = this.bodies.get(c.req.raw);
    const sent = raw === undefined || raw.length === 0 ? undefined : (jsonOf(raw) ?? { multipart: raw.length });
    this.calls.push({ at: Date.now(), request: `${c.req.method} ${path}`, ...(sent !== undefined ? { body: sent } : {}), code, data });
    const body = { code, message, request_id: `${new Date(this.now()).toISOString().replace(/\D/g, '').slice(0, 14)}${randomUUID().slice(0, 8)}`, data };
    return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  }

  /** A failure a test queued for this endpoint, answered instead of the call. */
  injected(c: Context, on: FakeEndpoint): Response | undefined {
    const failure = this.failures.get(on)?.shift();
    return failure ? this.envelope(c, failure.code, failure.message, null, failure.httpStatus) : undefined;
  }

  /** A signed route: raw bytes read once, the checks first, then an injected failure, then the handler. */
  signed(shopScoped: boolean, on: FakeEndpoint, handle: (c: Context, raw: Uint8Array) => Response | Promise<Response>) {
    return async (c: Context) => {
      const raw = new Uint8Array(await c.req.arrayBuffer());
      this.bodies.set(c.req.raw, raw);
      return this.refusal(c, raw, shopScoped) ?? this.injected(c, on) ?? handle(c, raw);
    };
  }

  /** Records a path the fake does not serve. */
  notFound(c: Context): Response {
    const request = `${c.req.method} ${new URL(c.req.url).pathname}`;
    this.traffic.push(`${request} → 404`);
    this.calls.push({ at: Date.now(), request, code: 404, data: null });
    return c.text('Not Found', 404);
  }

  /** The checks every signed call passes, in TikTok's order; undefined when it may proceed. */
  private refusal(c: Context, raw: Uint8Array, shopScoped: boolean): Response | undefined {
    const url = new URL(c.req.url);
    const q = url.searchParams;
    if (q.get('app_key') !== this.app.appKey) return this.envelope(c, 36009004, 'Invalid app_key.', null);
    const ts = Number(q.get('timestamp'));
    const seconds = this.now() / 1000;
    if (!Number.isInteger(ts) || ts < seconds - 300 || ts > seconds + 30) return this.envelope(c, 36009004, 'Invalid timestamp.', null);
    const multipart = (c.req.header('content-type') ?? '').startsWith('multipart/form-data');
    const query = Object.fromEntries(q.entries());
    const expected = signTikTokShopRequest({ appSecret: this.app.appSecret, path: url.pathname, query, ...(multipart || raw.length === 0 ? {} : { body: raw }) });
    if (q.get('sign') !== expected) return this.envelope(c, 106001, 'Invalid sign.', null);
    if (!this.tokens.accepts(c.req.header('x-tts-access-token'))) return this.envelope(c, 105002, 'The access token is invalid or has expired.', null);
    if (shopScoped && q.get('shop_cipher') !== this.app.shopCipher) return this.envelope(c, 106013, 'Invalid shop_cipher.', null);
    return undefined;
  }
}

export function jsonOf(raw: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(raw).toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}
