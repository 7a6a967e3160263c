/**
 * TikTok Shop's reply rules, decided before any call. Pure (`now` is an argument).
 *
 * https://partner.tiktokshop.com/docv2/page/659645f9a46cdd02bc8aeacf ("Important Concepts"; tiktok-shop.md key fact 19):
 * - "if the buyer does not reply, the conversation will be closed after 6 hours";
 * - "the seller customer service has 7 days to respond to a chat message", else it is auto-closed;
 * - a seller may (re)open a conversation only if the buyer and the shop chatted in the last 30 days, the buyer ordered
 *   in the last 60 days, or has a history of returns or refunds (Create Conversation reopens it with the same id).
 *
 * The state knows when the buyer last wrote and how many replies went out since, not when the last reply went out,
 * so the 6 hours are counted from the buyer's last message once a reply was sent: the bridge may think a conversation
 * closed a little early, never late. A closed conversation is reopened first (when allowed by the connection); the
 * platform has the last word (`can_send_message`, 45109001, 45109003).
 */
import type { ReplyVerdict } from '../../core/channel.js';
import type { ConversationState } from '../../core/conversation.js';
import { HOUR_MS, formatUtcTime } from '../../core/window.js';

export const TTS_SILENT_BUYER_MS = 6 * HOUR_MS;
export const TTS_UNANSWERED_MS = 7 * 24 * HOUR_MS;

/** The verdict's tag when the conversation must be reopened before the reply goes out. */
export const REOPEN_TAG = 'reopen';

export interface TikTokShopWindow {
  /** `never-wrote`: no buyer message known; `unanswered`: no reply since it; `answered`: replied to; `closed`. */
  phase: 'never-wrote' | 'unanswered' | 'answered' | 'closed';
  /** When the conversation closes (or closed), epoch ms. */
  closesAt?: number;
}

export function tiktokShopWindow(conversation: ConversationState, now: number): TikTokShopWindow {
  const closesAt = tiktokShopClosesAt(conversation);
  if (closesAt === undefined) return { phase: 'never-wrote' };
  if (now >= closesAt) return { phase: 'closed', closesAt };
  return { phase: (conversation.repliesSinceCustomer ?? 0) > 0 ? 'answered' : 'unanswered', closesAt };
}

/** When the conversation closes by the bridge's count (epoch ms); undefined when the buyer never wrote. */
export function tiktokShopClosesAt(conversation: ConversationState): number | undefined {
  const last = conversation.lastInboundAt;
  if (last === undefined) return undefined;
  return last + ((conversation.repliesSinceCustomer ?? 0) > 0 ? TTS_SILENT_BUYER_MS : TTS_UNANSWERED_MS);
}

/**
 * May the reply go out now? Open → send. Closed → send after reopening (tag `reopen`) when the connection allows
 * it, else refused with when it closed. No buyer message or no conversation id → refused: TikTok Shop addresses
 * replies to the conversation, and only lets a seller write first under its eligibility rules.
 */
export function decideTikTokShopReply(conversation: ConversationState, now: number, opts: { reopenClosedConversations: boolean }): ReplyVerdict {
  const window = tiktokShopWindow(conversation, now);
  if (window.phase === 'never-wrote' || !conversation.threadId) {
    return {
      send: false,
      reason: 'MessageNotAllowed',
      sentence:
        'The bridge has no TikTok Shop conversation with this buyer to answer in: TikTok Shop lets a seller write first only ' +
        'to buyers who chatted or ordered recently. Answer from Seller Center, or wait for the buyer to write.',
    };
  }
  if (window.phase !== 'closed') return { send: true };
  if (opts.reopenClosedConversations) return { send: true, tag: REOPEN_TAG };
  return {
    send: false,
    reason: 'MessageExpired',
    sentence:
      'TikTok Shop closes a conversation 6 hours after a reply the buyer does not answer (7 days after an unanswered ' +
      `buyer message); this one closed at ${formatUtcTime(window.closesAt!, now)} and this connection does not reopen ` +
      'closed conversations. Wait for the buyer to write again, or answer from Seller Center.',
  };
}
