import { describe, expect, it } from 'vitest';
import { decideTikTokReply, tiktokReplyWindow } from '../src/channels/tiktok/window.js';
import type { ConversationState } from '../src/core/conversation.js';

const HOUR = 3_600_000;
/** The customer's last message: 3 Mar 2026, 14:02:30 UTC. */
const LAST = Date.UTC(2026, 2, 3, 14, 2, 30);

const first = (replies: number): ConversationState => ({ lastInboundAt: LAST, customerMessages: 1, repliesSinceCustomer: replies });
const later = (replies: number): ConversationState => ({ lastInboundAt: LAST, customerMessages: 4, repliesSinceCustomer: replies });

describe('tiktokReplyWindow', () => {
  it('ends 48 hours after the customer\'s last message and knows the phase and remaining count', () => {
    expect(tiktokReplyWindow(first(3), LAST + HOUR)).toEqual({ phase: 'first-message', endsAt: LAST + 48 * HOUR, remaining: 7 });
    expect(tiktokReplyWindow(later(30), LAST + HOUR)).toEqual({ phase: 'open', endsAt: LAST + 48 * HOUR });
    expect(tiktokReplyWindow(later(1), LAST + 49 * HOUR)).toEqual({ phase: 'silent', endsAt: LAST + 48 * HOUR, remaining: 2 });
    expect(tiktokReplyWindow({}, LAST)).toEqual({ phase: 'never-wrote', remaining: 0 });
  });
});

describe('decideTikTokReply', () => {
  it('allows 10 messages within 48 hours of the customer\'s first message, then refuses the 11th', () => {
    for (let sent = 0; sent < 10; sent++) {
      expect(decideTikTokReply({ conversation: first(sent), now: LAST + 47 * HOUR })).toEqual({ send: true });
    }
    const refused = decideTikTokReply({ conversation: first(10), now: LAST + 2 * HOUR });
    expect(refused).toEqual({
      send: false,
      reason: 'MessageNotAllowed',
      sentence:
        "TikTok lets a business send at most 10 messages in the 48 hours after a customer's first message; you have " +
        'sent 10 since their message at 14:02 UTC. Wait for the customer to write again.',
    });
  });

  it('allows any number of messages within 48 hours after a later customer message', () => {
    for (const sent of [0, 10, 11, 250]) {
      expect(decideTikTokReply({ conversation: later(sent), now: LAST + 48 * HOUR - 1 })).toEqual({ send: true });
    }
  });

  it('allows only 3 messages once the customer has been silent for more than 48 hours, saying when the window closed', () => {
    for (const sent of [0, 1, 2]) {
      expect(decideTikTokReply({ conversation: later(sent), now: LAST + 48 * HOUR })).toEqual({ send: true });
    }
    const now = LAST + 72 * HOUR;
    expect(decideTikTokReply({ conversation: later(3), now })).toEqual({
      send: false,
      reason: 'MessageExpired',
      closedAt: LAST + 48 * HOUR,
      sentence:
        'TikTok lets a business send at most 3 messages once the customer has been silent for 48 hours; you have sent 3 ' +
        'since their last message at 14:02 UTC on 3 Mar 2026 (the 48-hour window closed at 14:02 UTC on 5 Mar 2026). ' +
        'Wait for the customer to write again.',
    });
  });

  it('counts every message since the customer last wrote against the 3 after 48 hours (the stricter reading)', () => {
    const decision = decideTikTokReply({ conversation: first(10), now: LAST + 50 * HOUR });
    expect(decision).toMatchObject({ send: false, reason: 'MessageExpired' });
  });

  it('refuses when the customer never wrote: TikTok lets only the customer start a conversation', () => {
    for (const conversation of [{}, { customerMessages: 0, repliesSinceCustomer: 0 }] as ConversationState[]) {
      expect(decideTikTokReply({ conversation, now: LAST })).toEqual({
        send: false,
        reason: 'MessageNotAllowed',
        sentence:
          'TikTok lets a business message a customer only after the customer has written first, and this customer has ' +
          'not written yet. Wait for the customer to write.',
      });
    }
  });

  it('refuses a reply of several messages that would overrun the remaining count, and says so', () => {
    const decision = decideTikTokReply({ conversation: first(8), now: LAST + HOUR, messages: 3 });
    expect(decision).toMatchObject({ send: false, reason: 'MessageNotAllowed' });
    expect(decision.send === false && decision.sentence).toContain('This reply needs 3 messages but only 2 remain');
    expect(decideTikTokReply({ conversation: first(8), now: LAST + HOUR, messages: 2 })).toEqual({ send: true });
  });

  it('treats a state without a message count as a first message (the stricter rule)', () => {
    expect(decideTikTokReply({ conversation: { lastInboundAt: LAST, repliesSinceCustomer: 10 }, now: LAST + HOUR })).toMatchObject({
      send: false,
      reason: 'MessageNotAllowed',
    });
  });
});
