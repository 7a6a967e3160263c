/**
 * The reply-window policy: may the bridge send an agent's reply now, and with which tag? Pure (no clock: `now`
 * is an argument). Each platform is one `ReplyWindowRule` (its window length); Instagram adds the HUMAN_AGENT
 * extension (`decideReply`), TikTok adds message counts within and after its 48 h window (`decideTikTokReply`).
 * Refusals carry the sentence the agent reads in the Failed receipt.
 */
import type { ConversationState } from '../store/store.js';
import type { OriginatingEntity } from './commands.js';

const HOUR_MS = 60 * 60 * 1000;

export interface ReplyWindowRule {
  /** The platform's name as the agent reads it. */
  platform: string;
  /** Replies are free this long after the customer's last message. */
  standardMs: number;
  /** A human agent's reply may go out this long after it, with the platform's human-agent tag. */
  humanAgentMs?: number;
}

/**
 * Instagram: 24 h after the customer's last message; with the HUMAN_AGENT tag, 7 days, for replies a human typed
 * (https://developers.facebook.com/docs/messenger-platform/send-messages/message-tags; instagram-messaging.md §4.3).
 */
export const INSTAGRAM_REPLY_WINDOW: ReplyWindowRule = {
  platform: 'Instagram',
  standardMs: 24 * HOUR_MS,
  humanAgentMs: 7 * 24 * HOUR_MS,
};

export interface ReplyWindow {
  standardEndsAt?: number;
  humanAgentEndsAt?: number;
}

export type ReplyDecision =
  | { send: true; tag?: 'HUMAN_AGENT' }
  | { send: false; reason: 'MessageExpired'; sentence: string; closedAt?: number };

export interface ReplyDecisionArgs {
  /** Epoch ms of the customer's last window-opening message; undefined when the customer never wrote. */
  lastInboundAt: number | undefined;
  now: number;
  originatingEntity: OriginatingEntity;
  /** The connection may use the platform's human-agent tag (the feature is approved in Meta App Review). */
  humanAgentTag: boolean;
}

/** When the windows end, as epoch ms; both undefined when the customer never wrote. */
export function replyWindow(rule: ReplyWindowRule, lastInboundAt: number | undefined): ReplyWindow {
  if (lastInboundAt === undefined) return {};
  return {
    standardEndsAt: lastInboundAt + rule.standardMs,
    ...(rule.humanAgentMs !== undefined ? { humanAgentEndsAt: lastInboundAt + rule.humanAgentMs } : {}),
  };
}

export function instagramReplyWindow(lastInboundAt: number | undefined): ReplyWindow {
  return replyWindow(INSTAGRAM_REPLY_WINDOW, lastInboundAt);
}

export function decideInstagramReply(args: ReplyDecisionArgs): ReplyDecision {
  return decideReply(INSTAGRAM_REPLY_WINDOW, args);
}

/**
 * Within the standard window: send. After it and before the human-agent window ends: send tagged, but only a
 * human's words on a connection that enabled the tag — never a bot's or an unknown author's (Meta forbids
 * automated content under HUMAN_AGENT; Chatwoot was caught tagging bot output, instagram-messaging.md §4.3).
 * Otherwise refuse, with the sentence the agent reads in the Failed receipt.
 */
export function decideReply(rule: ReplyWindowRule, args: ReplyDecisionArgs): ReplyDecision {
  const { standardEndsAt, humanAgentEndsAt } = replyWindow(rule, args.lastInboundAt);
  if (standardEndsAt === undefined) return { send: false, reason: 'MessageExpired', sentence: neverWroteSentence(rule) };
  if (args.now < standardEndsAt) return { send: true };
  const tagAllowed = humanAgentEndsAt !== undefined && args.humanAgentTag;
  if (tagAllowed && args.originatingEntity === 'Human') {
    if (args.now < humanAgentEndsAt) return { send: true, tag: 'HUMAN_AGENT' };
    return refuse(humanAgentClosedSentence(rule, humanAgentEndsAt, args.now), humanAgentEndsAt);
  }
  const notHuman = tagAllowed && args.now < humanAgentEndsAt;
  return refuse(standardClosedSentence(rule, standardEndsAt, args.now, notHuman), standardEndsAt);
}

function refuse(sentence: string, closedAt: number): ReplyDecision {
  return { send: false, reason: 'MessageExpired', sentence, closedAt };
}

const WRITE_AGAIN = 'Ask the customer to write again or continue by email.';

function neverWroteSentence(rule: ReplyWindowRule): string {
  return (
    `${rule.platform} only allows replies within ${duration(rule.standardMs)} of the customer's last message, ` +
    `and the customer has not written yet. Wait for the customer to write or contact them by email.`
  );
}

function standardClosedSentence(rule: ReplyWindowRule, closedAt: number, now: number, notHuman: boolean): string {
  const why = notHuman
    ? ` The ${duration(rule.humanAgentMs ?? 0)} extension applies only to replies typed by a human agent.`
    : '';
  return (
    `${rule.platform} only allows replies within ${duration(rule.standardMs)} of the customer's last message; ` +
    `this conversation's window closed at ${formatUtcTime(closedAt, now)}.${why} ${WRITE_AGAIN}`
  );
}

function humanAgentClosedSentence(rule: ReplyWindowRule, closedAt: number, now: number): string {
  return (
    `${rule.platform} allows a human agent to reply up to ${duration(rule.humanAgentMs ?? 0)} after the customer's ` +
    `last message; this conversation's window closed at ${formatUtcTime(closedAt, now)}. ${WRITE_AGAIN}`
  );
}

/** `24 hours`, `7 days`, `48 hours`. */
function duration(ms: number): string {
  const hours = ms / HOUR_MS;
  return hours % 24 === 0 && hours > 48 ? `${hours / 24} days` : `${hours} hours`;
}

// ---- TikTok: 48 hours and message counts ----

/**
 * TikTok (tiktok-messaging.md key facts 11-12, §6; portal doc 1854823717597185 as cited by Chatwoot's docs): the
 * customer must write first; after their FIRST message the business may send at most 10 messages within 48 h;
 * within 48 h after any later message, unlimited; once the customer has been silent for more than 48 h, only 3
 * more until they write again. Blocked sends come back as 40064, so the bridge refuses locally instead.
 */
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

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * `14:02 UTC` when `at` falls on the same UTC day as `now`, else `14:02 UTC on 3 Mar 2026`: agents sit in many
 * time zones, so the time is always UTC and always says so.
 */
export function formatUtcTime(at: number, now: number): string {
  const d = new Date(at);
  const time = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())} UTC`;
  if (d.toISOString().slice(0, 10) === new Date(now).toISOString().slice(0, 10)) return time;
  return `${time} on ${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}
