import { describe, expect, it } from 'vitest';
import { formatUtcTime } from '../src/core/window.js';
import { decideInstagramReply, instagramReplyWindow } from '../src/channels/instagram/window.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** The customer's last message: 2 Mar 2026, 14:02:30 UTC. */
const LAST = Date.UTC(2026, 2, 2, 14, 2, 30);

const decide = (over: Partial<Parameters<typeof decideInstagramReply>[0]> = {}) =>
  decideInstagramReply({ lastInboundAt: LAST, now: LAST + HOUR, originatingEntity: 'Human', humanAgentTag: false, ...over });

describe('instagramReplyWindow', () => {
  it('ends 24 hours and 7 days after the customer\'s last message', () => {
    expect(instagramReplyWindow(LAST)).toEqual({ standardEndsAt: LAST + DAY, humanAgentEndsAt: LAST + 7 * DAY });
  });

  it('has no window when the customer never wrote', () => {
    expect(instagramReplyWindow(undefined)).toEqual({});
  });
});

describe('decideInstagramReply', () => {
  it('sends untagged within 24 hours, whoever typed it', () => {
    for (const originatingEntity of ['Human', 'Bot', 'Unknown'] as const) {
      expect(decide({ originatingEntity, now: LAST + DAY - 1 })).toEqual({ send: true });
    }
  });

  it('tags a human reply HUMAN_AGENT after 3 days when the connection enables it', () => {
    expect(decide({ now: LAST + 3 * DAY, humanAgentTag: true })).toEqual({ send: true, tag: 'HUMAN_AGENT' });
  });

  it('refuses a human reply after 3 days when the HUMAN_AGENT tag is not enabled, saying when the 24 h window closed', () => {
    const now = LAST + 3 * DAY;
    expect(decide({ now })).toEqual({
      send: false,
      reason: 'MessageExpired',
      closedAt: LAST + DAY,
      sentence:
        "Instagram only allows replies within 24 hours of the customer's last message; this conversation's window " +
        'closed at 14:02 UTC on 3 Mar 2026. Ask the customer to write again or continue by email.',
    });
  });

  it('never tags a bot or an unknown author, and says the extension is for human agents', () => {
    for (const originatingEntity of ['Bot', 'Unknown'] as const) {
      const decision = decide({ now: LAST + 3 * DAY, humanAgentTag: true, originatingEntity });
      expect(decision).toMatchObject({ send: false, reason: 'MessageExpired', closedAt: LAST + DAY });
      expect(decision.send === false && decision.sentence).toContain('only to replies typed by a human agent');
    }
  });

  it('refuses after 8 days even for a human with the tag, naming the 7-day human-agent window', () => {
    const decision = decide({ now: LAST + 8 * DAY, humanAgentTag: true });
    expect(decision).toEqual({
      send: false,
      reason: 'MessageExpired',
      closedAt: LAST + 7 * DAY,
      sentence:
        "Instagram allows a human agent to reply up to 7 days after the customer's last message; this conversation's " +
        'window closed at 14:02 UTC on 9 Mar 2026. Ask the customer to write again or continue by email.',
    });
  });

  it('refuses after 8 days without the tag, naming the 24-hour window', () => {
    expect(decide({ now: LAST + 8 * DAY })).toMatchObject({ send: false, closedAt: LAST + DAY });
  });

  it('refuses when the customer has not written yet', () => {
    const decision = decide({ lastInboundAt: undefined, humanAgentTag: true });
    expect(decision).toMatchObject({ send: false, reason: 'MessageExpired' });
    expect(decision).not.toHaveProperty('closedAt');
    expect(decision.send === false && decision.sentence).toContain('the customer has not written yet');
  });

  it('closes exactly 24 hours after the last message', () => {
    expect(decide({ now: LAST + DAY })).toMatchObject({ send: false });
    expect(decide({ now: LAST + DAY, humanAgentTag: true })).toEqual({ send: true, tag: 'HUMAN_AGENT' });
  });
});

describe('formatUtcTime', () => {
  it('shows only the UTC time when the moment is on the same UTC day, and the date otherwise', () => {
    const at = Date.UTC(2026, 2, 3, 14, 2, 59);
    expect(formatUtcTime(at, Date.UTC(2026, 2, 3, 23, 59))).toBe('14:02 UTC');
    expect(formatUtcTime(at, Date.UTC(2026, 2, 4, 0, 1))).toBe('14:02 UTC on 3 Mar 2026');
    expect(formatUtcTime(Date.UTC(2026, 0, 5, 3, 7), Date.UTC(2026, 2, 4))).toBe('03:07 UTC on 5 Jan 2026');
  });
});
