/**
 * What the fake TikTok Shop knows of its shop: conversations, their messages, buyer media, and TikTok's rules of when
 * a conversation is closed. Messages are stored as TikTok lists them and pushed as type 14 notifications (content a
 * JSON string, media with a URL that can expire).
 *
 * The closing rule, on the fake's clock (https://partner.tiktokshop.com/docv2/page/659645f9a46cdd02bc8aeacf,
 * "Important Concepts"): after a shop message the buyer does not answer for 6 hours the conversation closes; a buyer
 * message nobody answers leaves the seller 7 days. Create Conversation reopens it (same id) when the seller may write
 * to the buyer (`canSendMessage`, TikTok's eligibility verdict: a chat in the last 30 days, an order in the last 60,
 * or a return/refund).
 */
import { randomUUID } from 'node:crypto';

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

export interface StoredMessage {
  id: string;
  type: string;
  /** Content without `url` for media: the URL is made when listed, so that it can expire. */
  content: Record<string, unknown>;
  mediaId?: string;
  role: string;
  imUserId: string;
  /** Unix seconds. */
  createTime: number;
}

export interface WorldConversation extends FakeConversation {
  messages: StoredMessage[];
  /** Closed by hand (closeConversation) until Create Conversation reopens it. */
  closedByHand: boolean;
  /** Epoch ms of the last Create Conversation. */
  reopenedAt?: number;
}

const HOUR_MS = 3600_000;
const SILENT_BUYER_MS = 6 * HOUR_MS;
const UNANSWERED_MS = 7 * 24 * HOUR_MS;
const MEDIA_TYPES = new Set(['IMAGE', 'VIDEO', 'EMOTICONS']);

export class FakeShopWorld {
  readonly conversations = new Map<string, WorldConversation>();
  /** The bytes of each buyer media message, and the type its host answers with. */
  readonly media = new Map<string, { bytes: Uint8Array; contentType: string }>();
  /** Every media URL handed out before the current generation answers 403. */
  mediaGeneration = 0;
  origin = '';
  private counter = 0;
  /** The shop's own `im_user_id`: what its messages (and SYSTEM/ROBOT ones) carry. */
  readonly shopImUserId: string;

  constructor(
    readonly shopId: string,
    private readonly now: () => number,
  ) {
    this.shopImUserId = `${shopId.slice(0, 10)}00000002`;
  }

  /** An 18-19-digit id, like TikTok's, unique in this fake. */
  nextId(): string {
    this.counter++;
    return `76${String(this.now()).slice(-10)}${String(this.counter).padStart(7, '0')}`;
  }

  add(conversation: FakeConversation): void {
    this.conversations.set(conversation.id, { ...conversation, messages: [], closedByHand: false });
  }

  get(id: string): WorldConversation | undefined {
    return this.conversations.get(id);
  }

  byBuyerUserId(userId: string): WorldConversation | undefined {
    return [...this.conversations.values()].find((c) => c.buyer.userId === userId);
  }

  store(c: WorldConversation, type: string, content: Record<string, unknown>, role: string, imUserId: string): StoredMessage {
    const rest = Object.fromEntries(Object.entries(content).filter(([key]) => key !== 'url'));
    const message: StoredMessage = {
      id: this.nextId(),
      type,
      content: rest,
      role,
      imUserId,
      createTime: Math.floor(this.now() / 1000),
      ...(MEDIA_TYPES.has(type) ? { mediaId: randomUUID() } : {}),
    };
    c.messages.push(message);
    return message;
  }

  /** Closed by hand, 6 h after an unanswered shop message, or 7 days after an unanswered buyer message. */
  isClosed(c: WorldConversation): boolean {
    if (c.closedByHand) return true;
    const newestFirst = [...c.messages].reverse();
    const lastBuyer = newestFirst.find((m) => m.role === 'BUYER');
    const opened = Math.max(lastBuyer ? lastBuyer.createTime * 1000 : -Infinity, c.reopenedAt ?? -Infinity);
    // A conversation the fake never saw a buyer message in (a test posted the webhook itself) stays open.
    if (opened === -Infinity) return false;
    const lastShop = newestFirst.find((m) => m.role !== 'BUYER' && m.createTime * 1000 >= opened);
    const elapsed = this.now() - (lastShop ? lastShop.createTime * 1000 : opened);
    return elapsed >= (lastShop ? SILENT_BUYER_MS : UNANSWERED_MS);
  }

  /** Create Conversation: an existing conversation, even closed, is reopened with the same id. */
  reopen(c: WorldConversation): void {
    c.closedByHand = false;
    // In whole seconds, as message times are: a send in the same second counts as after the reopen.
    c.reopenedAt = Math.floor(this.now() / 1000) * 1000;
  }

  /** The message as TikTok lists or pushes it: `content` a JSON string, media with a current URL. */
  wire(m: StoredMessage): Record<string, unknown> {
    const content = m.mediaId ? { ...m.content, url: `${this.origin}/im-media/${m.mediaId}?gen=${this.mediaGeneration}&x-expires=${m.createTime + 86_400}` } : m.content;
    return { id: m.id, type: m.type, content: JSON.stringify(content), create_time: m.createTime, is_visible: true, index: m.id, sender: { im_user_id: m.imUserId, role: m.role } };
  }

  /** The type 14 notification of a stored message (https://partner.tiktokshop.com/docv2/page/66143486ef8a1202dc323258). */
  newMessageNotification(conversationId: string, m: StoredMessage): Record<string, unknown> {
    const { id, ...rest } = this.wire(m);
    return { type: 14, tts_notification_id: this.nextId(), shop_id: this.shopId, timestamp: Math.floor(this.now() / 1000), data: { ...rest, conversation_id: conversationId, message_id: id } };
  }
}

/** What the media host says a buyer's file is: a video for VIDEO messages, else the image type its bytes show. */
export function mediaContentType(type: string, bytes: Uint8Array): string {
  if (type === 'VIDEO') return 'video/mp4';
  const starts = (sig: number[], at = 0) => sig.every((b, i) => bytes[at + i] === b);
  if (starts([0x89, 0x50, 0x4e, 0x47])) return 'image/png';
  if (starts([0x47, 0x49, 0x46, 0x38])) return 'image/gif';
  if (starts([0x52, 0x49, 0x46, 0x46]) && starts([0x57, 0x45, 0x42, 0x50], 8)) return 'image/webp';
  return 'image/jpeg';
}

/** A small, valid-looking JPEG whose middle depends only on the media id. */
export function fakeMediaBytes(mediaId: string): Uint8Array {
  const seed = Buffer.from(`fake-tiktok-shop-media:${mediaId}`);
  const body = Buffer.alloc(256, 0).map((_b, i) => seed[i % seed.length]! ^ (i & 0xff));
  return new Uint8Array(Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), body, Buffer.from([0xff, 0xd9])]));
}
