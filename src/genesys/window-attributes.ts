/**
 * The reply window travels with every inbound message as participant data, so Architect can route on it
 * (and auto-reply when a queued answer would arrive too late: docs/genesys-setup.md).
 */
import type { ChannelName } from '../core/events.js';
import { instagramReplyWindow } from '../core/window.js';

export function replyWindowAttributes(args: {
  channel: ChannelName;
  lastInboundAt: number | undefined;
  now: number;
  humanAgentTag: boolean;
}): Record<string, string> {
  if (args.lastInboundAt === undefined) return {};
  const window = args.channel === 'instagram' ? instagramReplyWindow(args.lastInboundAt) : {};
  const attributes: Record<string, string> = {};
  if (window.standardEndsAt !== undefined) {
    attributes['dmbridge.replyWindowEndsAt'] = new Date(window.standardEndsAt).toISOString();
    attributes['dmbridge.replyWindowMinutesLeft'] = String(Math.max(0, Math.floor((window.standardEndsAt - args.now) / 60_000)));
  }
  if (args.humanAgentTag && window.humanAgentEndsAt !== undefined) {
    attributes['dmbridge.humanAgentWindowEndsAt'] = new Date(window.humanAgentEndsAt).toISOString();
  }
  return attributes;
}
