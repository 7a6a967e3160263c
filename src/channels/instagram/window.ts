/**
 * Instagram's reply window: 24 h after the customer's last message; with the HUMAN_AGENT tag, 7 days, for
 * replies a human typed (https://developers.facebook.com/docs/messenger-platform/send-messages/message-tags).
 */
import { HOUR_MS, decideReply, replyWindow, type ReplyDecisionArgs, type ReplyWindow, type ReplyWindowRule, type WindowDecision } from '../../core/window.js';

export const INSTAGRAM_REPLY_WINDOW: ReplyWindowRule = {
  platform: 'Instagram',
  standardMs: 24 * HOUR_MS,
  humanAgentMs: 7 * 24 * HOUR_MS,
  humanAgentTag: 'HUMAN_AGENT',
};

export function instagramReplyWindow(lastInboundAt: number | undefined): ReplyWindow {
  return replyWindow(INSTAGRAM_REPLY_WINDOW, lastInboundAt);
}

export function decideInstagramReply(args: ReplyDecisionArgs): WindowDecision {
  return decideReply(INSTAGRAM_REPLY_WINDOW, args);
}
