/**
 * TikTok's reply rules (https://business-api.tiktok.com/portal/docs?id=1854823717597185): the customer must write
 * first; after their FIRST message the business may send at most 10 messages within 48 h; within 48 h after any
 * later message, unlimited; once the customer has been silent for more than 48 h, only 3 more until they write
 * again. Blocked sends come back as 40064, so the bridge refuses locally instead. Pure.
 */
import type { ConversationState } from '../../core/conversation.js';
import { HOUR_MS, formatUtcTime, replyWindow, type ReplyWindowRule } from '../../core/window.js';

export const TIKTOK_REPLY_WINDOW: ReplyWindowRule = { platform: 'TikTok', standardMs: 48 * HOUR_MS };
export const TIKTOK_FIRST_MESSAGE_LIMIT = 10;
export const TIKTOK_SILENT_LIMIT = 3;

export interface TikTokReplyWindow {
  /** `never-wrote`: no reply allowed; `first-message`: ≤ 10 within 48 h; `open`: unlimited; `silent`: ≤ 3. */
  phase: 'never-wrote' | 'first-message' | 'open' | 'silent';
  /** When the 48 hours after the customer's last message end (epoch ms); undefined when they never wrote. */
  endsAt?: number;
  /** Messages the business may still send before the customer writes again; undefined = no count limit. */
  remaining?: number;
}

/**
 * The TikTok window of one conversation at `now`. The count is `repliesSinceCustomer`, every business message
 * since the customer's last one: TikTok's "3 more" may count only messages sent after the 48 hours, which the
 * state does not keep apart, so the bridge errs on the side of sending fewer (never a 40064 it could foresee).
 * A state with a `lastInboundAt` but no count is treated as a first message (the stricter rule).
 */
export function tiktokReplyWindow(conversation: ConversationState, now: number): TikTokReplyWindow {
  const { standardEndsAt: endsAt } = replyWindow(TIKTOK_REPLY_WINDOW, conversation.lastInboundAt);
  if (endsAt === undefined) return { phase: 'never-wrote', remaining: 0 };
  const sent = conversation.repliesSinceCustomer ?? 0;
  if (now >= endsAt) return { phase: 'silent', endsAt, remaining: Math.max(0, TIKTOK_SILENT_LIMIT - sent) };
  if ((conversation.customerMessages ?? 1) <= 1) {
    return { phase: 'first-message', endsAt, remaining: Math.max(0, TIKTOK_FIRST_MESSAGE_LIMIT - sent) };
  }
  return { phase: 'open', endsAt };
}

export type TikTokReplyDecision =
  | { send: true }
  | { send: false; reason: 'MessageExpired' | 'MessageNotAllowed'; sentence: string; closedAt?: number };

/**
 * May the bridge send a reply of `messages` TikTok messages (default 1: a long text split in two counts twice)?
 * Refusals: never wrote, and the 10-message cap inside the first 48 h → MessageNotAllowed (the window is open,
 * the count is spent); the 3-message cap after 48 h of silence → MessageExpired, with when the window closed.
 */
export function decideTikTokReply(args: { conversation: ConversationState; now: number; messages?: number }): TikTokReplyDecision {
  const { conversation, now } = args;
  const needed = Math.max(1, args.messages ?? 1);
  const window = tiktokReplyWindow(conversation, now);
  if (window.remaining === undefined || window.remaining >= needed) return { send: true };
  if (window.phase === 'never-wrote' || window.endsAt === undefined || conversation.lastInboundAt === undefined) {
    return {
      send: false,
      reason: 'MessageNotAllowed',
      sentence:
        'TikTok lets a business message a customer only after the customer has written first, and this customer ' +
        'has not written yet. Wait for the customer to write.',
    };
  }
  const sent = conversation.repliesSinceCustomer ?? 0;
  const since = formatUtcTime(conversation.lastInboundAt, now);
  const tooBig = needed > 1 && window.remaining > 0 ? ` This reply needs ${needed} messages but only ${window.remaining} remain; send a shorter one or` : '';
  const wait = tooBig ? `${tooBig} wait for the customer to write again.` : ' Wait for the customer to write again.';
  if (window.phase === 'first-message') {
    return {
      send: false,
      reason: 'MessageNotAllowed',
      sentence:
        `TikTok lets a business send at most ${TIKTOK_FIRST_MESSAGE_LIMIT} messages in the 48 hours after a customer's ` +
        `first message; you have sent ${sent} since their message at ${since}.${wait}`,
    };
  }
  return {
    send: false,
    reason: 'MessageExpired',
    closedAt: window.endsAt,
    sentence:
      `TikTok lets a business send at most ${TIKTOK_SILENT_LIMIT} messages once the customer has been silent for 48 hours; ` +
      `you have sent ${sent} since their last message at ${since} (the 48-hour window closed at ` +
      `${formatUtcTime(window.endsAt, now)}).${wait}`,
  };
}
