import { describe, expect, it } from 'vitest';
import { PermanentError, PlatformRefusal, RetryableError } from '../src/core/errors.js';
import { TikTokShopTokenError, classifyTikTokShopError, classifyTikTokShopFetchError } from '../src/channels/tiktok-shop/errors.js';
import { tiktokApiEnvelopeOf } from '../src/channels/tiktok-envelope.js';

const SHOP = '7494049642642441621';
const NOW = Date.UTC(2026, 2, 2, 14, 30);
const ctx = { shopId: SHOP, now: NOW };
const answer = (code: number, message = 'm') => JSON.stringify({ code, message, request_id: '2026030214300001', data: null });

describe('classifyTikTokShopError', () => {
  it('is a success only for code 0', () => {
    expect(classifyTikTokShopError(200, answer(0), ctx)).toBeUndefined();
    expect(classifyTikTokShopError(200, JSON.stringify({ code: '0', request_id: 'r', data: {} }), ctx)).toBeUndefined();
  });

  // Every row of tiktok-shop.md §3 Errors; `refusal`: the shop's rules said no (no dead letter), else an operator's matter.
  it.each([
    [45109001, 'MessageExpired', /closed this conversation/, 'refusal'],
    [45109003, 'MessageNotAllowed', /last 30 days.*last 60 days.*return or refund/, 'refusal'],
    [45101006, 'MessageNotAllowed', /words its policies do not allow/, 'refusal'],
    [45101001, 'InvalidMessageStructure', /rejected the message as invalid \("m"\)/, 'operator'],
    [45101002, 'InvalidMessageStructure', /return\/refund card/, 'refusal'],
    [45111017, 'InvalidMessageStructure', /coupon card/, 'refusal'],
    [45101003, 'InvalidDestination', /does not know this conversation/, 'operator'],
    [45102007, 'InvalidDestination', /may not access this conversation/, 'operator'],
    [45111001, 'MediaTypeNotAllowed', /does not support this kind of message/, 'refusal'],
    [105005, 'GeneralError', /Customer Service scope/, 'operator'],
    [101000, 'GeneralError', /does not belong to this shop/, 'operator'],
    [106013, 'GeneralError', /shop cipher/, 'operator'],
    [106001, 'GeneralError', /request signature/, 'operator'],
    [36009004, 'GeneralError', /credentials, the request time or the API version/, 'operator'],
    [36009033, 'GeneralError', /IP allow list/, 'operator'],
  ] as const)('%i is final: %s, with a sentence for the agent and the support reference (%s)', (code, reason, sentence, kind) => {
    const error = classifyTikTokShopError(200, answer(code), ctx);
    expect(error).toBeInstanceOf(PermanentError);
    expect(error instanceof PlatformRefusal).toBe(kind === 'refusal');
    expect(error).not.toBeInstanceOf(TikTokShopTokenError);
    expect(error!.reason).toBe(reason);
    expect(error!.message).toMatch(sentence);
    expect(error!.message).toMatch(new RegExp(`\\(TikTok Shop error ${code}, request_id 2026030214300001\\)$`));
  });

  it('says when the bridge thinks a conversation closed', () => {
    const closedAt = Date.UTC(2026, 2, 2, 8, 0);
    expect(classifyTikTokShopError(200, answer(45109001), { ...ctx, windowClosedAt: closedAt })!.message).toMatch(/at 08:00 UTC/);
  });

  it.each([[36009002], [45111012]])('%i throttles: retry, with the shop paused for a second on every instance', (code) => {
    const error = classifyTikTokShopError(200, answer(code), ctx) as RetryableError;
    expect(error).toBeInstanceOf(RetryableError);
    expect(error).toMatchObject({ reason: 'RateLimited', pauseKey: `tiktok-shop:${SHOP}`, retryAfterMs: 1000 });
  });

  it.each([[429], [503]])('HTTP %i without a known code throttles the shop too', (status) => {
    expect(classifyTikTokShopError(status, 'Too Many Requests', ctx)).toMatchObject({ reason: 'RateLimited', pauseKey: `tiktok-shop:${SHOP}` });
  });

  it('pauses the shop until 00:00 UTC when the 10,000-a-day quota is used up (45101004)', () => {
    const error = classifyTikTokShopError(200, answer(45101004), ctx) as RetryableError;
    expect(error).toBeInstanceOf(RetryableError);
    expect(error.reason).toBe('RateLimited');
    expect(error.pauseKey).toBe(`tiktok-shop:${SHOP}`);
    expect(NOW + error.retryAfterMs!).toBe(Date.UTC(2026, 2, 3));
    expect(error.message).toMatch(/10,000 .* a day/);
  });

  it.each([[36009003], [36009007], [45101008]])('%i is a bounded retry as ServerError, without a pause', (code) => {
    const error = classifyTikTokShopError(200, answer(code), ctx) as RetryableError;
    expect(error).toBeInstanceOf(RetryableError);
    expect(error).toMatchObject({ reason: 'ServerError', pauseKey: undefined });
  });

  it('marks an expired token (105002) so the client refreshes once', () => {
    const error = classifyTikTokShopError(200, answer(105002), ctx);
    expect(error).toBeInstanceOf(TikTokShopTokenError);
    expect(error!.message).toMatch(/authorize the app again/);
  });

  it('reads the code whatever the HTTP status, and handles answers without an envelope', () => {
    expect(classifyTikTokShopError(400, answer(45109001), ctx)!.reason).toBe('MessageExpired');
    expect(classifyTikTokShopError(502, '<html>', ctx)).toMatchObject({ reason: 'ServerError', message: expect.stringMatching(/\(HTTP 502\)$/) });
    expect(classifyTikTokShopError(404, 'Not Found', ctx)).toBeInstanceOf(PermanentError);
    expect(classifyTikTokShopError(200, 'garbage', ctx)).toBeInstanceOf(RetryableError);
    expect(classifyTikTokShopError(200, answer(99999999, 'new rule'), ctx)).toMatchObject({ reason: 'GeneralError', message: expect.stringContaining('"new rule"') });
    expect(classifyTikTokShopError(500, JSON.stringify({ code: 0, request_id: 'r' }), ctx)).toMatchObject({ reason: 'ServerError' });
  });

  it('turns timeouts and network errors into retries', () => {
    expect(classifyTikTokShopFetchError(new DOMException('x', 'TimeoutError'), 500)).toMatchObject({ statusLabel: 'timeout', error: { message: expect.stringMatching(/within 500 ms/) } });
    expect(classifyTikTokShopFetchError(new Error('ECONNREFUSED'), 500).statusLabel).toBe('network');
  });

  it('reads an envelope with a null data and ignores ill-typed fields', () => {
    expect(tiktokApiEnvelopeOf('{"code":0,"message":"ok","request_id":"r","data":null}')).toEqual({ code: 0, message: 'ok', request_id: 'r', data: null });
    expect(tiktokApiEnvelopeOf('{"code":1.5,"message":3}')).toBeUndefined();
    expect(tiktokApiEnvelopeOf('[1]')).toBeUndefined();
  });
});
