/**
 * The reply window travels with every inbound message as participant data, so Architect can route on it
 * (and auto-reply when a queued answer would arrive too late: docs/genesys-setup.md). The channel module says
 * when its windows end; this only writes them down.
 */
import type { ReplyWindowEnds } from '../core/channel.js';

export function replyWindowAttributes(window: ReplyWindowEnds, now: number): Record<string, string> {
  const attributes: Record<string, string> = {};
  if (window.endsAt !== undefined) {
    attributes['dmbridge.replyWindowEndsAt'] = new Date(window.endsAt).toISOString();
    attributes['dmbridge.replyWindowMinutesLeft'] = String(Math.max(0, Math.floor((window.endsAt - now) / 60_000)));
  }
  if (window.humanAgentEndsAt !== undefined) {
    attributes['dmbridge.humanAgentWindowEndsAt'] = new Date(window.humanAgentEndsAt).toISOString();
  }
  return attributes;
}
