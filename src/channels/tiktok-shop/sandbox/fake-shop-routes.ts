/**
 * The Open API routes of the fake TikTok Shop: Get Authorized Shops and the Customer Service API `202309`
 * (tiktok-shop.md §1, §3; https://partner.tiktokshop.com/docv2/page/650a58bbbace3e02b7556286 and its sibling pages),
 * plus the buyer media host. Each refuses what TikTok refuses: page sizes over 20 / 10, a body that is not
 * `{type, content}` with `content` a JSON string, a text over 2000 characters, an IMAGE not uploaded here, a closed
 * conversation or an ineligible buyer (45109001), Create Conversation for an ineligible buyer (45109003), an
 * unknown conversation (45101003), an upload over 10 MB or not an image.
 */
import { randomUUID } from 'node:crypto';
import type { Hono } from 'hono';
import { jsonOf, type FakeShopGate } from './fake-shop-gate.js';
import type { FakeTokens } from './fake-shop-tokens.js';
import type { FakeShopWorld, StoredMessage } from './fake-shop-world.js';

const TEXT_LIMIT = 2000;
const IMAGE_MAX_BYTES = 10 * 1024 * 1024;
const SEND_TYPES = new Set(['TEXT', 'IMAGE', 'PRODUCT_CARD', 'ORDER_CARD', 'RETURN_REFUND_CARD', 'COUPON_CARD']);
const NOT_FOUND = 'Record not found. Please check the parameters.';

/** What the routes record for tests and the sandbox console. */
export interface FakeShopRecords {
  sends: Array<{ conversationId: string; body: { type: string; content: string }; messageId: string; accessToken: string; at: number }>;
  uploads: Array<{ url: string; bytes: number; mime: string; filename: string }>;
  /** The bytes of each upload, by its URL. */
  uploadedBytes: Map<string, Uint8Array>;
  reads: string[];
  /** `buyer_user_id`s of Create Conversation calls. */
  creates: string[];
}

export interface FakeShopRouteDeps {
  shop: { shopId: string; shopCipher: string; region: string };
  world: FakeShopWorld;
  gate: FakeShopGate;
  tokens: FakeTokens;
  records: FakeShopRecords;
  /** Posts the echo of an accepted send to the bridge, before the send is answered (the worst order for it). */
  echo: (conversationId: string, message: StoredMessage) => Promise<void>;
  /** The shop's own webhook addresses (Update Shop Webhook), by event type. */
  webhooks: () => ReadonlyMap<string, string>;
  now: () => number;
}

export function routeFakeShopApi(web: Hono, deps: FakeShopRouteDeps): void {
  const { shop, world, gate, records } = deps;
  const uploaded = new Set<string>();

  web.get(
    '/authorization/202309/shops',
    gate.signed(false, 'shops', (c) =>
      gate.envelope(c, 0, 'Success', { shops: [{ id: shop.shopId, name: 'Acme', region: shop.region, seller_type: 'LOCAL', cipher: shop.shopCipher, code: 'GBLC12345' }] }),
    ),
  );

  // Get Shop Webhooks (tiktok-shop.md §4): the per-shop addresses only, with their times.
  web.get(
    '/event/202309/webhooks',
    gate.signed(true, 'webhooks', (c) => {
      const at = Math.floor(deps.now() / 1000);
      const webhooks = [...deps.webhooks()].map(([event_type, address]) => ({ event_type, address, create_time: at, update_time: at }));
      return gate.envelope(c, 0, 'Success', { webhooks, total_count: webhooks.length });
    }),
  );

  web.get(
    '/customer_service/202309/conversations',
    gate.signed(true, 'conversations', (c) => {
      const q = new URL(c.req.url).searchParams;
      const size = Number(q.get('page_size'));
      if (!Number.isInteger(size) || size < 1 || size > 20) return gate.envelope(c, 45101001, 'Invalid parameter: page_size must be 1-20.', null);
      const list = [...world.conversations.values()].reverse();
      const start = Number(q.get('page_token') || '0');
      const page = list.slice(start, start + size).map((conv) => ({
        id: conv.id,
        participant_count: 2,
        can_send_message: conv.canSendMessage ?? true,
        unread_count: 0,
        create_time: 1772443000,
        participants: [
          { im_user_id: conv.buyer.imUserId, user_id: conv.buyer.userId, role: 'BUYER', nickname: conv.buyer.nickname, avatar: conv.buyer.avatar ?? '' },
          { im_user_id: world.shopImUserId, user_id: shop.shopId, role: 'SHOP', nickname: 'Acme', avatar: '' },
        ],
        latest_message: conv.messages.length > 0 ? world.wire(conv.messages.at(-1)!) : null,
      }));
      return gate.envelope(c, 0, 'Success', { next_page_token: start + size < list.length ? String(start + size) : '', conversations: page });
    }),
  );

  web.get(
    '/customer_service/202309/conversations/:id/messages',
    gate.signed(true, 'messages', (c) => {
      const conv = world.get(c.req.param('id') ?? '');
      if (!conv) return gate.envelope(c, 45101003, NOT_FOUND, null);
      const q = new URL(c.req.url).searchParams;
      const size = Number(q.get('page_size'));
      if (!Number.isInteger(size) || size < 1 || size > 10) return gate.envelope(c, 45101001, 'Invalid parameter: page_size must be 1-10.', null);
      const list = q.get('sort_order') === 'ASC' ? [...conv.messages] : [...conv.messages].reverse();
      const start = Number(q.get('page_token') || '0');
      const messages = list.slice(start, start + size).map((m) => world.wire(m));
      return gate.envelope(c, 0, 'Success', { next_page_token: start + size < list.length ? String(start + size) : '', unsupported_msg_tips: '', messages });
    }),
  );

  web.post(
    '/customer_service/202309/conversations/:id/messages/read',
    gate.signed(true, 'read', (c) => {
      const id = c.req.param('id') ?? '';
      if (!world.get(id)) return gate.envelope(c, 45101003, NOT_FOUND, null);
      records.reads.push(id);
      return gate.envelope(c, 0, 'Success', {});
    }),
  );

  web.post(
    '/customer_service/202309/conversations/:id/messages',
    gate.signed(true, 'send', async (c, raw) => {
      const id = c.req.param('id') ?? '';
      const conv = world.get(id);
      if (!conv) return gate.envelope(c, 45101003, NOT_FOUND, null);
      const body = jsonOf(raw);
      const problem = sendProblem(body, uploaded);
      if (problem) return gate.envelope(c, 45101001, problem, null);
      if (world.isClosed(conv) || conv.canSendMessage === false) return gate.envelope(c, 45109001, 'Unable to send messages due to conversation rules.', null);
      const { type, content } = body as { type: string; content: string };
      const stored = world.store(conv, type, {}, 'SHOP', world.shopImUserId);
      stored.content = JSON.parse(content) as Record<string, unknown>;
      delete stored.mediaId;
      records.sends.push({ conversationId: id, body: { type, content }, messageId: stored.id, accessToken: c.req.header('x-tts-access-token') ?? '', at: Date.now() });
      // Our own API send comes back as a type 14 (key fact 18), here before the send is answered.
      await deps.echo(id, stored);
      return gate.envelope(c, 0, 'Success', { message_id: stored.id });
    }),
  );

  web.post(
    '/customer_service/202309/conversations',
    gate.signed(true, 'create', (c, raw) => {
      const body = jsonOf(raw) as { buyer_user_id?: unknown } | undefined;
      if (typeof body?.buyer_user_id !== 'string') return gate.envelope(c, 45101001, 'Invalid parameter: buyer_user_id is required.', null);
      records.creates.push(body.buyer_user_id);
      const conv = world.byBuyerUserId(body.buyer_user_id);
      if (!conv || conv.canSendMessage === false) return gate.envelope(c, 45109003, 'Unable to create the conversation due to conversation rules.', null);
      world.reopen(conv);
      return gate.envelope(c, 0, 'Success', { conversation_id: conv.id });
    }),
  );

  web.post(
    '/customer_service/202309/images/upload',
    gate.signed(true, 'upload', async (c, raw) => {
      let file: unknown;
      try {
        file = (await new Response(new Uint8Array(raw), { headers: { 'content-type': c.req.header('content-type') ?? '' } }).formData()).get('data');
      } catch {
        return gate.envelope(c, 45101001, 'Invalid parameter: the body must be multipart/form-data.', null);
      }
      if (!(file instanceof File)) return gate.envelope(c, 45101001, 'Invalid parameter: data is required.', null);
      const bytes = new Uint8Array(await file.arrayBuffer());
      if (bytes.length > IMAGE_MAX_BYTES) return gate.envelope(c, 45101001, 'Invalid parameter: the image exceeds 10 MB.', null);
      if (!isImage(bytes)) return gate.envelope(c, 45111001, 'not support', null);
      const url = `https://p16-oec-va.ibyteimg.com/tos-maliva-i-o3syd03w52-us/${randomUUID().replace(/-/g, '')}~tplv-o3syd03w52-origin-image.image`;
      uploaded.add(url);
      records.uploads.push({ url, bytes: bytes.length, mime: file.type, filename: file.name });
      records.uploadedBytes.set(url, bytes);
      return gate.envelope(c, 0, 'Success', { url, width: 1280, height: 720 });
    }),
  );

  // Buyer media: signed, expiring URLs (key fact 21); Indonesian shops' links need the token and cipher too.
  web.get('/im-media/:id', (c) => {
    const media = world.media.get(c.req.param('id') ?? '');
    const q = new URL(c.req.url).searchParams;
    if (!media) return c.text('Not Found', 404);
    if (q.get('gen') !== String(world.mediaGeneration)) return c.text('Forbidden: the URL has expired', 403);
    if (shop.region === 'ID' && (!deps.tokens.accepts(c.req.header('x-tts-access-token')) || q.get('shop_cipher') !== shop.shopCipher)) return c.text('Forbidden', 403);
    return new Response(new Uint8Array(media.bytes), { status: 200, headers: { 'content-type': media.contentType, 'content-length': String(media.bytes.length) } });
  });

  web.notFound((c) => gate.notFound(c));
}

/** The first rule a Send Message body breaks (cs-send); undefined when valid. */
function sendProblem(body: unknown, uploaded: ReadonlySet<string>): string | undefined {
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

function isImage(bytes: Uint8Array): boolean {
  const starts = (sig: number[], at = 0) => sig.every((b, i) => bytes[at + i] === b);
  return starts([0xff, 0xd8, 0xff]) || starts([0x89, 0x50, 0x4e, 0x47]) || starts([0x47, 0x49, 0x46, 0x38]) || (starts([0x52, 0x49, 0x46, 0x46]) && starts([0x57, 0x45, 0x42, 0x50], 8));
}
