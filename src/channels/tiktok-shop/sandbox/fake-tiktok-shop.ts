/**
 * A fake TikTok Shop Open API (API and auth hosts on one origin) on 127.0.0.1 for tests and the sandbox. It refuses
 * what the real one refuses (tiktok-shop.md §6 "Local fake"): the signed-call checks are in fake-shop-gate.ts, the
 * API's own rules in fake-shop-routes.ts, TikTok's closing rule in fake-shop-world.ts, the token refresh in
 * fake-shop-tokens.ts. It plays the buyer by posting signed webhooks to the bridge, and posts the echo of every
 * accepted send (before answering it: the worst order the bridge must handle).
 *
 * `url` is both the connection's `apiBaseUrl` and its `authBaseUrl`.
 */
import { Hono } from 'hono';
import type { SandboxWebhook } from '../../../core/channel.js';
import { listenOnLoopback } from '../../../net/loopback.js';
import { signTikTokShopWebhook } from '../verify.js';
import { FakeShopGate, type FakeEndpoint, type FakeTikTokShopCall } from './fake-shop-gate.js';
import { routeFakeShopApi, type FakeShopRecords } from './fake-shop-routes.js';
import { FakeTokens, type FakeRefresh } from './fake-shop-tokens.js';
import { FakeShopWorld, fakeMediaBytes, mediaContentType, type FakeConversation, type StoredMessage } from './fake-shop-world.js';

export type { FakeEndpoint, FakeTikTokShopCall } from './fake-shop-gate.js';
export type { FakeBuyer, FakeConversation } from './fake-shop-world.js';

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
  /** The shop's own webhook addresses by event type (`NEW_MESSAGE` → URL), as Update Shop Webhook sets them; default none. */
  shopWebhooks?: Record<string, string>;
  /** Where buyer messages and echoes are posted (`{bridgeUrl}/webhooks/tiktok-shop`); none: nothing is posted. */
  bridgeUrl?: string;
  /**
   * The time of the world the fake lives in (default real time): it stamps messages and webhooks with it, closes
   * conversations by it, and checks the callers' signed `timestamp` and token expiry against it (the sandbox's clock
   * can run ahead of real time).
   */
  clock?: () => number;
}

/** What the buyer sends: a type and its content; an image's or video's bytes are served from the fake's media host. */
export interface FakeBuyerMessage {
  type: string;
  content: Record<string, unknown>;
  imageBytes?: Uint8Array;
}

/** A message the fake stored and pushed: the bridge's answer (status 0 without a bridge), its ids, the webhook. */
export interface FakePosted {
  status: number;
  body: string;
  messageId: string;
  mediaId?: string;
  webhook?: SandboxWebhook;
}

export interface FakeTikTokShop extends FakeShopRecords {
  url: string;
  refreshes: FakeRefresh[];
  /** Every API call: `GET /path → code`. */
  traffic: string[];
  /** Every API call with its time, body and answer. */
  calls: FakeTikTokShopCall[];
  /** The echoes of accepted sends posted to the bridge. */
  echoes: SandboxWebhook[];
  /** The next `n` calls to `on` (default `send`) answer `code` (HTTP 200 unless `httpStatus`). */
  failNext(n: number, code: number, opts?: { on?: FakeEndpoint; httpStatus?: number; message?: string }): void;
  /** Every access token issued so far stops working, as if it expired. */
  expireAccessToken(): void;
  currentTokens(): { accessToken: string; refreshToken: string };
  addConversation(conversation: FakeConversation): void;
  /** Sends answer 45109001 until Create Conversation reopens it. */
  closeConversation(conversationId: string): void;
  /** TikTok's eligibility verdict for the buyer changes (`can_send_message`; false: sends and reopening refused). */
  allowSending(conversationId: string, allowed: boolean): void;
  /** Whether TikTok's rules (or closeConversation) have closed it now, on the fake's clock. */
  isClosed(conversationId: string): boolean;
  /** The shop's webhook address for `eventType` from now on (undefined: removed), as Update / Delete Shop Webhook do. */
  setShopWebhook(eventType: string, address: string | undefined): void;
  /** Every media URL handed out so far answers 403; Get Conversation Messages hands out fresh ones. */
  expireMediaUrls(): void;
  mediaBytes(mediaId: string): Uint8Array;
  /** Plays the buyer: stores the message and posts its signed type 14 webhook (when there is a bridge: else status 0). */
  buyerSends(conversationId: string, message: FakeBuyerMessage): Promise<FakePosted>;
  /**
   * Plays the shop's side outside the bridge — a Seller Center agent (`CUSTOMER_SERVICE`), an auto reply (`SHOP`), the
   * chat bot (`ROBOT`), a notice (`SYSTEM`) — stored and pushed like a buyer message.
   */
  shopSends(conversationId: string, message: FakeBuyerMessage, role: 'CUSTOMER_SERVICE' | 'SHOP' | 'ROBOT' | 'SYSTEM'): Promise<FakePosted>;
  /** Signs and posts any notification to the bridge. */
  postWebhook(envelope: Record<string, unknown>): Promise<{ status: number; body: string; webhook: SandboxWebhook }>;
  close(): Promise<void>;
}

export async function startFakeTikTokShop(opts: FakeTikTokShopOptions): Promise<FakeTikTokShop> {
  const now = opts.clock ?? Date.now;
  const region = opts.region ?? 'GB';
  const world = new FakeShopWorld(opts.shopId, now);
  const tokens = new FakeTokens({ ...opts, region }, now);
  const gate = new FakeShopGate(opts, tokens, now);
  const records: FakeShopRecords = { sends: [], uploads: [], uploadedBytes: new Map(), reads: [], creates: [] };
  const echoes: SandboxWebhook[] = [];
  const webhooks = new Map(Object.entries(opts.shopWebhooks ?? {}));

  async function postWebhook(envelope: Record<string, unknown>) {
    if (!opts.bridgeUrl) throw new Error('fake TikTok Shop: no bridgeUrl to post to');
    const raw = JSON.stringify(envelope);
    const path = '/webhooks/tiktok-shop';
    const headers = { 'content-type': 'application/json', authorization: signTikTokShopWebhook(raw, opts) };
    const at = Date.now();
    const res = await fetch(`${opts.bridgeUrl.replace(/\/+$/, '')}${path}`, { method: 'POST', headers, body: raw, signal: AbortSignal.timeout(10_000) });
    const answer = await res.text();
    return { status: res.status, body: answer, webhook: { at, path, headers, body: raw, status: res.status, answer } };
  }

  async function echo(conversationId: string, message: StoredMessage): Promise<void> {
    if (!opts.bridgeUrl) return;
    const posted = await postWebhook(world.newMessageNotification(conversationId, message)).catch(() => undefined);
    if (posted) echoes.push(posted.webhook);
  }

  function conversationOrThrow(id: string) {
    const c = world.get(id);
    if (!c) throw new Error(`fake TikTok Shop: no conversation ${id}`);
    return c;
  }

  /** Keeps a media message's bytes and posts its notification. */
  async function push(conversationId: string, stored: StoredMessage, imageBytes: Uint8Array | undefined): Promise<FakePosted> {
    if (stored.mediaId) {
      const bytes = imageBytes ?? fakeMediaBytes(stored.mediaId);
      world.media.set(stored.mediaId, { bytes, contentType: mediaContentType(stored.type, bytes) });
    }
    const media = stored.mediaId ? { mediaId: stored.mediaId } : {};
    if (!opts.bridgeUrl) return { status: 0, body: '', messageId: stored.id, ...media };
    const sent = await postWebhook(world.newMessageNotification(conversationId, stored));
    return { ...sent, messageId: stored.id, ...media };
  }

  const web = new Hono();
  tokens.route(web, gate);
  routeFakeShopApi(web, { shop: { shopId: opts.shopId, shopCipher: opts.shopCipher, region }, world, gate, tokens, records, echo, webhooks: () => webhooks, now });
  const { server, origin } = await listenOnLoopback(web, opts.port);
  world.origin = origin;
  for (const c of opts.conversations ?? []) world.add(c);

  return {
    url: origin,
    ...records,
    refreshes: tokens.refreshes,
    traffic: gate.traffic,
    calls: gate.calls,
    echoes,
    failNext: (n, code, o) => gate.failNext(n, code, o),
    expireAccessToken: () => tokens.expireAll(),
    currentTokens: () => tokens.current(),
    addConversation: (c) => world.add(c),
    closeConversation(id) {
      const c = world.get(id);
      if (c) c.closedByHand = true;
    },
    allowSending(id, allowed) {
      const c = world.get(id);
      if (c) c.canSendMessage = allowed;
    },
    isClosed: (id) => {
      const c = world.get(id);
      return c !== undefined && world.isClosed(c);
    },
    setShopWebhook(eventType, address) {
      if (address === undefined) webhooks.delete(eventType);
      else webhooks.set(eventType, address);
    },
    expireMediaUrls: () => void world.mediaGeneration++,
    mediaBytes: fakeMediaBytes,
    async buyerSends(conversationId, message) {
      const c = conversationOrThrow(conversationId);
      // The buyer writing reopens the conversation (and restarts TikTok's clocks).
      c.closedByHand = false;
      return push(conversationId, world.store(c, message.type, message.content, 'BUYER', c.buyer.imUserId), message.imageBytes);
    },
    async shopSends(conversationId, message, role) {
      return push(conversationId, world.store(conversationOrThrow(conversationId), message.type, message.content, role, world.shopImUserId), message.imageBytes);
    },
    postWebhook,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
