import { describe, expect, it } from 'vitest';
import {
  classifyTikTokError,
  classifyTikTokFetchError,
  isTikTokTokenError,
  tiktokPauseKey,
  TIKTOK_RATE_LIMIT_PAUSE_MS,
} from '../src/channels/tiktok/errors.js';
import { PermanentError, RetryableError } from '../src/core/errors.js';

const BUSINESS = '-000aBcD1234';
const NOW = Date.UTC(2026, 2, 5, 15, 30);
const ctx = { businessId: BUSINESS, now: NOW };
const REQUEST = '202603051530AB12CD34EF56';

const envelope = (code: number, message = `Something TikTok says about ${code}`) => ({ code, message, request_id: REQUEST, data: {} });
const ref = (code: number) => `(TikTok error ${code}, request_id ${REQUEST})`;

function classify(code: number, status = 200) {
  const error = classifyTikTokError(status, envelope(code), ctx);
  expect(error).toBeDefined();
  expect(error!.message.endsWith(ref(code))).toBe(true);
  return error!;
}

describe('classifyTikTokError: one test per row of tiktok-messaging.md §7', () => {
  it('0: success is no error, as an object or as text', () => {
    expect(classifyTikTokError(200, { code: 0, message: 'OK', request_id: REQUEST, data: { message: { message_id: 'x' } } }, ctx)).toBeUndefined();
    expect(classifyTikTokError(200, JSON.stringify(envelope(0)), ctx)).toBeUndefined();
  });

  it('40001: no permission → GeneralError, never retried, the administrator must check the app', () => {
    const error = classify(40001);
    expect(error).toBeInstanceOf(PermanentError);
    expect(error.reason).toBe('GeneralError');
    expect(error.message).toMatch(/no permission .* administrator must check the app and re-authorize/);
  });

  it('40002: parameter error → InvalidMessageStructure quoting TikTok\'s message', () => {
    const error = classifyTikTokError(200, envelope(40002, 'Param conversation_id is invalid.'), ctx)!;
    expect(error).toBeInstanceOf(PermanentError);
    expect(error.reason).toBe('InvalidMessageStructure');
    expect(error.message).toBe(`TikTok rejected the message as invalid ("Param conversation_id is invalid."). Change it and send it again; the message was not sent. ${ref(40002)}`);
  });

  it('40007: object does not exist → InvalidDestination', () => {
    const error = classify(40007);
    expect(error).toBeInstanceOf(PermanentError);
    expect(error.reason).toBe('InvalidDestination');
    expect(error.message).toMatch(/conversation no longer exists/);
  });

  it('40064: blocked by the DM rules → MessageExpired, never retried, explaining the 48-hour and message-count rules', () => {
    const error = classify(40064);
    expect(error).toBeInstanceOf(PermanentError);
    expect(error.reason).toBe('MessageExpired');
    expect(error.message).toMatch(/at most 10 messages in the 48 hours after a customer's first message, and only 3 once the customer has been silent for 48 hours/);
    expect(error.message).toMatch(/Wait for the customer to write again/);
    const known = classifyTikTokError(200, envelope(40064), { ...ctx, windowClosedAt: Date.UTC(2026, 2, 5, 14, 2) })!;
    expect(known.message).toContain("This conversation's 48-hour window closed at 14:02 UTC.");
  });

  it('40100: rate limited (in an HTTP 200) → RateLimited, pausing the whole business for 5 minutes', () => {
    const error = classify(40100);
    expect(error).toBeInstanceOf(RetryableError);
    expect(error).toMatchObject({ reason: 'RateLimited', pauseKey: `tiktok:${BUSINESS}`, retryAfterMs: 5 * 60_000 });
    expect(TIKTOK_RATE_LIMIT_PAUSE_MS).toBe(300_000);
    expect(tiktokPauseKey(BUSINESS)).toBe('tiktok:-000aBcD1234');
  });

  it('40105: bad or expired token → a token error (refresh once), whose sentence asks for re-authorization', () => {
    const error = classify(40105);
    expect(isTikTokTokenError(error)).toBe(true);
    expect(error).toBeInstanceOf(PermanentError);
    expect(error.reason).toBe('GeneralError');
    expect(error.message).toMatch(/^TikTok no longer accepts the bridge's access token for this account.*an administrator must re-authorize/);
    expect(isTikTokTokenError(classify(40002))).toBe(false);
  });

  it('40908: unsupported file type → MediaTypeNotAllowed naming JPG/PNG up to 3 MB', () => {
    const error = classify(40908);
    expect(error).toBeInstanceOf(PermanentError);
    expect(error.reason).toBe('MediaTypeNotAllowed');
    expect(error.message).toMatch(/only accepts JPG or PNG images up to 3 MB/);
  });

  it('51065: system error → retried as ServerError', () => {
    const error = classify(51065);
    expect(error).toBeInstanceOf(RetryableError);
    expect(error.reason).toBe('ServerError');
    expect((error as RetryableError).pauseKey).toBeUndefined();
  });

  it('an unknown code → bounded retry as transient, GeneralError when given up, quoting TikTok', () => {
    const error = classifyTikTokError(200, envelope(41234, 'Brand new failure'), ctx)!;
    expect(error).toBeInstanceOf(RetryableError);
    expect(error.reason).toBe('GeneralError');
    expect(error.message).toMatch(/"Brand new failure"/);
    expect(error.message.endsWith(ref(41234))).toBe(true);
  });

  it('HTTP 5xx without an envelope → retried as ServerError, with the HTTP status as the reference', () => {
    for (const status of [500, 502, 503, 504]) {
      const error = classifyTikTokError(status, '<html>Bad Gateway</html>', ctx)!;
      expect(error).toBeInstanceOf(RetryableError);
      expect(error.reason).toBe('ServerError');
      expect(error.message.endsWith(`(HTTP ${status})`)).toBe(true);
    }
  });

  it('a code inside a non-200 answer is still classified by its code', () => {
    expect(classifyTikTokError(500, envelope(51065), ctx)).toBeInstanceOf(RetryableError);
    expect(classifyTikTokError(401, envelope(40105), ctx)).toSatisfy(isTikTokTokenError);
    expect(classifyTikTokError(400, envelope(40002), ctx)!.reason).toBe('InvalidMessageStructure');
  });

  it('HTTP 429 without an envelope → RateLimited with the pause; another 4xx without one → GeneralError, not retried', () => {
    expect(classifyTikTokError(429, '', ctx)).toMatchObject({ reason: 'RateLimited', pauseKey: `tiktok:${BUSINESS}` });
    const notFound = classifyTikTokError(404, 'Not Found', ctx)!;
    expect(notFound).toBeInstanceOf(PermanentError);
    expect(notFound.message).toMatch(/HTTP 404 .*apiBaseUrl/);
  });

  it('an HTTP 200 the bridge cannot read → bounded retry as transient', () => {
    const error = classifyTikTokError(200, 'not json', ctx)!;
    expect(error).toBeInstanceOf(RetryableError);
    expect(error.reason).toBe('GeneralError');
  });

  it('timeouts and network failures → retried as ServerError', () => {
    const timeout = classifyTikTokFetchError(new DOMException('late', 'TimeoutError'), 5000);
    expect(timeout.statusLabel).toBe('timeout');
    expect(timeout.error).toMatchObject({ reason: 'ServerError' });
    expect(timeout.error.message).toMatch(/did not answer within 5000 ms/);
    expect(classifyTikTokFetchError(new TypeError('fetch failed'), 5000).statusLabel).toBe('network');
  });
});
