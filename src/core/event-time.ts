/**
 * Platform event times are data from outside: a signed webhook may still carry a timestamp of 8.64e15 (or 0). Such a
 * time cannot be shown (Date throws past ±8.64e15 ms), and stored as the customer's last message it would keep the
 * reply window open for centuries and break every later message of that customer. So an event time is trusted only
 * within a range around the moment the bridge received it; outside it, the arrival time stands in. Pure.
 */
import type { ConversationState } from './conversation.js';

/** Older than any platform's retry horizon (72 h) by far: no real delivery is this late. */
export const EVENT_TIME_MAX_AGE_MS = 30 * 24 * 60 * 60 * 1000;
/** Clocks disagree by seconds, not minutes. */
export const EVENT_TIME_MAX_AHEAD_MS = 10 * 60 * 1000;

/** `timestamp` when it lies in the sane range around `receivedAt` (epoch ms), else `receivedAt`; says which. */
export function saneEventTime(timestamp: number, receivedAt: number): { timestamp: number; clamped: boolean } {
  const sane = Number.isFinite(timestamp) && timestamp >= receivedAt - EVENT_TIME_MAX_AGE_MS && timestamp <= receivedAt + EVENT_TIME_MAX_AHEAD_MS;
  return sane ? { timestamp, clamped: false } : { timestamp: receivedAt, clamped: true };
}

/**
 * The conversation without a last-message time that lies in the future (written before event times were checked):
 * it would hold the reply window open for ever. Undefined `lastInboundAt` reads as "not known".
 */
export function withoutFutureWindow(conversation: ConversationState, now: number): { conversation: ConversationState; dropped: boolean } {
  const at = conversation.lastInboundAt;
  if (at === undefined || (Number.isFinite(at) && at <= now + EVENT_TIME_MAX_AHEAD_MS)) return { conversation, dropped: false };
  const { lastInboundAt: _dropped, ...rest } = conversation;
  return { conversation: rest, dropped: true };
}
