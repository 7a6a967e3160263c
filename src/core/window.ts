/**
 * The reply-window policy shared by the channels: may the bridge send an agent's reply now, and with which tag?
 * Pure (no clock: `now` is an argument). Each platform is one `ReplyWindowRule` (its window length and an optional
 * human-agent extension); a channel may add rules of its own on top (message counts). Refusals carry the
 * sentence the agent reads in the Failed receipt.
 */
import type { OriginatingEntity } from './commands.js';

export const HOUR_MS = 60 * 60 * 1000;

export interface ReplyWindowRule {
  /** The platform's name as the agent reads it. */
  platform: string;
  /** Replies are free this long after the customer's last message. */
  standardMs: number;
  /** A human agent's reply may go out this long after it, tagged with `humanAgentTag`. */
  humanAgentMs?: number;
  humanAgentTag?: string;
}

export interface ReplyWindow {
  standardEndsAt?: number;
  humanAgentEndsAt?: number;
}

export type WindowDecision =
  | { send: true; tag?: string }
  | { send: false; reason: 'MessageExpired'; sentence: string; closedAt?: number };

export interface ReplyDecisionArgs {
  /** Epoch ms of the customer's last window-opening message; undefined when the customer never wrote. */
  lastInboundAt: number | undefined;
  now: number;
  originatingEntity: OriginatingEntity;
  /** The connection may use the platform's human-agent tag (the platform approved the feature for the app). */
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

/**
 * Within the standard window: send. After it and before the human-agent window ends: send tagged, but only a
 * human's words on a connection that enabled the tag — never a bot's or an unknown author's (platforms' human-agent
 * rules forbid automated content under the tag; the channel that defines the rule cites its source).
 * Otherwise refuse, with the sentence the agent reads in the Failed receipt.
 */
export function decideReply(rule: ReplyWindowRule, args: ReplyDecisionArgs): WindowDecision {
  const { standardEndsAt, humanAgentEndsAt } = replyWindow(rule, args.lastInboundAt);
  if (standardEndsAt === undefined) return { send: false, reason: 'MessageExpired', sentence: neverWroteSentence(rule) };
  if (args.now < standardEndsAt) return { send: true };
  const tagAllowed = humanAgentEndsAt !== undefined && args.humanAgentTag;
  if (tagAllowed && args.originatingEntity === 'Human') {
    if (args.now < humanAgentEndsAt) return { send: true, ...(rule.humanAgentTag ? { tag: rule.humanAgentTag } : {}) };
    return refuse(humanAgentClosedSentence(rule, humanAgentEndsAt, args.now), humanAgentEndsAt);
  }
  const notHuman = tagAllowed && args.now < humanAgentEndsAt;
  return refuse(standardClosedSentence(rule, standardEndsAt, args.now, notHuman), standardEndsAt);
}

function refuse(sentence: string, closedAt: number): WindowDecision {
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
