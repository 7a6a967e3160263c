import { describe, expect, it } from 'vitest';
import { decideTikTokShopReply, tiktokShopWindow } from '../src/channels/tiktok-shop/window.js';

const H = 60 * 60 * 1000;
const T0 = Date.UTC(2026, 2, 2, 8, 0);
const thread = '7494560109732334262';
const reopen = { reopenClosedConversations: true };
const noReopen = { reopenClosedConversations: false };

describe('TikTok Shop reply window', () => {
  it('gives the seller 7 days to answer a buyer message nobody answered', () => {
    const c = { lastInboundAt: T0, repliesSinceCustomer: 0, threadId: thread };
    expect(tiktokShopWindow(c, T0 + 6 * 24 * H)).toEqual({ phase: 'unanswered', closesAt: T0 + 7 * 24 * H });
    expect(decideTikTokShopReply(c, T0 + 7 * 24 * H - 1, noReopen)).toEqual({ send: true });
    expect(tiktokShopWindow(c, T0 + 7 * 24 * H).phase).toBe('closed');
  });

  it('closes 6 hours after the buyer wrote once a reply went out and the buyer stayed silent', () => {
    const c = { lastInboundAt: T0, repliesSinceCustomer: 1, threadId: thread };
    expect(decideTikTokShopReply(c, T0 + 6 * H - 1, noReopen)).toEqual({ send: true });
    expect(tiktokShopWindow(c, T0 + 6 * H)).toEqual({ phase: 'closed', closesAt: T0 + 6 * H });
  });

  it('reopens a closed conversation first when the connection allows it', () => {
    const c = { lastInboundAt: T0, repliesSinceCustomer: 2, threadId: thread };
    expect(decideTikTokShopReply(c, T0 + 7 * H, reopen)).toEqual({ send: true, tag: 'reopen' });
  });

  it('otherwise refuses, saying when the conversation closed', () => {
    const c = { lastInboundAt: T0, repliesSinceCustomer: 2, threadId: thread };
    const verdict = decideTikTokShopReply(c, T0 + 7 * H, noReopen);
    expect(verdict).toEqual({ send: false, reason: 'MessageExpired', sentence: expect.stringContaining('closed at 14:00 UTC') });
  });

  it('refuses without a buyer message or a conversation to answer in', () => {
    expect(decideTikTokShopReply({}, T0, reopen)).toMatchObject({ send: false, reason: 'MessageNotAllowed' });
    expect(decideTikTokShopReply({ lastInboundAt: T0 }, T0 + H, reopen)).toMatchObject({ send: false, reason: 'MessageNotAllowed' });
  });
});
