import { describe, expect, it } from 'vitest';
import { classifyGraphError, GraphConfigurationError, graphUsagePause } from '../src/channels/instagram/errors.js';
import { PermanentError, RetryableError, type GenesysReasonCode } from '../src/core/errors.js';

const ACCOUNT = '17841400000000042';
const NOW = Date.UTC(2026, 2, 3, 15, 30);
const ctx = { accountId: ACCOUNT, now: NOW };
const TRACE = 'AbCdEf12345';

function graphBody(code: number, subcode?: number, extra: Record<string, unknown> = {}) {
  return {
    error: {
      message: `(#${code}) Something Meta says`,
      type: 'IGApiException',
      code,
      ...(subcode !== undefined ? { error_subcode: subcode } : {}),
      fbtrace_id: TRACE,
      ...extra,
    },
  };
}

const ref = (code: number, subcode?: number) => `(Graph error ${subcode !== undefined ? `${code}/${subcode}` : code}, fbtrace_id ${TRACE})`;

/** instagram-messaging.md §5, one line per code/subcode of each row. */
const PERMANENT_ROWS: Array<[string, number, number | undefined, GenesysReasonCode, RegExp]> = [
  ['outside the allowed window', 10, 2534022, 'MessageExpired', /window has closed/],
  ['outside the window (Messenger 2018278)', 10, 2018278, 'MessageExpired', /write again/],
  ['outside the window (Messenger 2018065)', 10, 2018065, 'MessageExpired', /write again/],
  ["customer can't receive messages right now", 10, 2018108, 'MessageNotAllowed', /can't receive messages/],
  ['account temporarily restricted from sending', 10, 1893063, 'MessageNotAllowed', /temporarily restricted/],
  ["can't verify the linked account", 10, 2534077, 'GeneralError', /reconnect the account/],
  ['customer blocked the account (551)', 551, undefined, 'RecipientOptedOut', /blocked the account/],
  ['customer blocked the account (551/1545041)', 551, 1545041, 'RecipientOptedOut', /blocked the account/],
  ['customer unavailable (200/1545041)', 200, 1545041, 'RecipientOptedOut', /can no longer receive messages/],
  ['invalid parameter', 100, undefined, 'InvalidMessageStructure', /rejected the message as invalid \("\(#100\) Something Meta says"\)/],
  ['invalid message data', 100, 2534015, 'InvalidMessageStructure', /invalid/],
  ['no matching Instagram user', 100, 2534014, 'InvalidDestination', /no customer with this id/],
  ['Page not linked to the Instagram account', 100, 2534013, 'GeneralError', /not linked to a Facebook Page/],
  ["can't fetch the attachment URL", 100, 2018008, 'GeneralError', /could not download the attachment/],
  ['media type mismatch', 100, 2018047, 'MediaTypeNotAllowed', /file type/],
  ['video fetch timeout', 100, 2018294, 'GeneralError', /75 seconds/],
  ['attachment too large', 100, 2018109, 'InvalidMediaContentLength', /too large/],
  ['not thread owner (100/2534037)', 100, 2534037, 'MessageNotAllowed', /Another app .* controls this conversation/],
  ['not thread owner (2018300)', 10, 2018300, 'MessageNotAllowed', /controls this conversation/],
  ['business blocked from the messaging API', 100, 2534029, 'MessageNotAllowed', /blocked this business/],
  ['invalid token', 190, undefined, 'GeneralError', /access token .* reconnect the account in dmbridge/],
  ['expired token (190/463)', 190, 463, 'GeneralError', /reconnect/],
  ['password changed (190/460)', 190, 460, 'GeneralError', /reconnect/],
  ['token subcodes 458, 459, 464, 467', 190, 467, 'GeneralError', /reconnect/],
  ['permission missing (200)', 200, undefined, 'GeneralError', /lacks a permission/],
  ['permission missing (299)', 299, undefined, 'GeneralError', /lacks a permission/],
  ['permission missing (10, no subcode)', 10, undefined, 'GeneralError', /lacks a permission/],
  ['owner disabled API access to messages', 200, 2534041, 'MessageNotAllowed', /turned off access to messages/],
  ['HUMAN_AGENT tag misuse', 613, 2018338, 'MessageNotAllowed', /HUMAN_AGENT/],
  ['blocked for policy violations', 368, undefined, 'MessageNotAllowed', /policy violations/],
  ['message deleted', 9000001, undefined, 'UnknownMessage', /deleted/],
];

describe('classifyGraphError: permanent rows of the reference table', () => {
  it.each(PERMANENT_ROWS)('%s (%i/%s) → PermanentError %s', (_name, code, subcode, reason, sentence) => {
    const error = classifyGraphError(400, graphBody(code, subcode), ctx);
    expect(error).toBeInstanceOf(PermanentError);
    expect(error.reason).toBe(reason);
    expect(error.message).toMatch(sentence);
    expect(error.message.endsWith(ref(code, subcode))).toBe(true);
  });

  it('says when the window closed, when the caller knows', () => {
    const closedAt = Date.UTC(2026, 2, 3, 14, 2);
    const error = classifyGraphError(400, graphBody(10, 2534022), { ...ctx, windowClosedAt: closedAt });
    expect(error.message).toContain('closed at 14:02 UTC');
  });

  it('reads the error from the raw response text too', () => {
    const error = classifyGraphError(400, JSON.stringify(graphBody(551)), ctx);
    expect(error.reason).toBe('RecipientOptedOut');
  });

  it('maps an unknown code to a GeneralError that quotes Meta\'s message', () => {
    const error = classifyGraphError(400, graphBody(12345, 678), ctx);
    expect(error).toBeInstanceOf(PermanentError);
    expect(error.reason).toBe('GeneralError');
    expect(error.message).toContain('"(#12345) Something Meta says"');
    expect(error.message.endsWith(ref(12345, 678))).toBe(true);
  });

  it('maps a 4xx without a Graph error body to a GeneralError naming the status', () => {
    const error = classifyGraphError(404, '<html>Not found</html>', ctx);
    expect(error).toBeInstanceOf(PermanentError);
    expect(error.message).toMatch(/HTTP 404.*\(HTTP 404\)$/);
  });
});

describe('classifyGraphError: rate limits', () => {
  it.each([4, 17, 32, 341, 613, 80002, 80006])('code %i → RetryableError RateLimited pausing the account', (code) => {
    const error = classifyGraphError(400, graphBody(code), ctx);
    expect(error).toBeInstanceOf(RetryableError);
    expect(error).toMatchObject({ reason: 'RateLimited', pauseKey: `instagram:${ACCOUNT}`, retryAfterMs: 60_000 });
    expect(error.message.endsWith(ref(code))).toBe(true);
  });

  it('613/2534040 is a rate limit too', () => {
    expect(classifyGraphError(400, graphBody(613, 2534040), ctx)).toMatchObject({ name: 'RetryableError', reason: 'RateLimited' });
  });

  it('HTTP 429 without a body is a rate limit', () => {
    const error = classifyGraphError(429, '', ctx);
    expect(error).toMatchObject({ name: 'RetryableError', reason: 'RateLimited', pauseKey: `instagram:${ACCOUNT}` });
    expect(error.message).toMatch(/\(HTTP 429\)$/);
  });

  it('waits estimated_time_to_regain_access minutes from X-Business-Use-Case-Usage', () => {
    const headers = new Headers({
      'x-business-use-case-usage': JSON.stringify({ [ACCOUNT]: [{ type: 'instagram', call_count: 100, estimated_time_to_regain_access: 7 }] }),
    });
    expect(classifyGraphError(400, graphBody(80002), { ...ctx, headers })).toMatchObject({ retryAfterMs: 7 * 60_000 });
  });

  it('honours Retry-After seconds on a 429', () => {
    const headers = new Headers({ 'retry-after': '120' });
    expect(classifyGraphError(429, graphBody(4), { ...ctx, headers })).toMatchObject({ retryAfterMs: 120_000 });
  });
});

describe('classifyGraphError: transient failures', () => {
  it.each([
    ['unexpected error (1)', 400, graphBody(1)],
    ['temporary error (2)', 400, graphBody(2)],
    ['transient subcode 2/1545133', 400, graphBody(2, 1545133)],
    ['is_transient on an otherwise unknown code', 400, graphBody(9999, undefined, { is_transient: true })],
    ['HTTP 500 with a Graph body', 500, graphBody(12345)],
    ['HTTP 503 without a body', 503, ''],
  ])('%s → RetryableError ServerError', (_name, status, body) => {
    const error = classifyGraphError(status, body, ctx);
    expect(error).toBeInstanceOf(RetryableError);
    expect(error.reason).toBe('ServerError');
    expect((error as RetryableError).pauseKey).toBeUndefined();
  });
});

describe('graphUsagePause', () => {
  const usage = (entries: object[]) => new Headers({ 'x-business-use-case-usage': JSON.stringify({ [ACCOUNT]: entries }) });

  it('says nothing while usage is below 95 %', () => {
    expect(graphUsagePause(usage([{ type: 'instagram', call_count: 94, total_cputime: 50, total_time: 50, estimated_time_to_regain_access: 0 }]), ACCOUNT, NOW)).toBeUndefined();
    expect(graphUsagePause(new Headers(), ACCOUNT, NOW)).toBeUndefined();
  });

  it('pauses the default minute at 95 % of any usage measure', () => {
    expect(graphUsagePause(usage([{ type: 'instagram', call_count: 10, total_cputime: 95, total_time: 10 }]), ACCOUNT, NOW)).toBe(NOW + 60_000);
  });

  it('pauses for estimated_time_to_regain_access minutes', () => {
    expect(graphUsagePause(usage([{ type: 'instagram', call_count: 40, estimated_time_to_regain_access: 3 }]), ACCOUNT, NOW)).toBe(NOW + 3 * 60_000);
  });

  it('reads X-App-Usage too', () => {
    const headers = new Headers({ 'x-app-usage': JSON.stringify({ call_count: 97, total_cputime: 1, total_time: 1 }) });
    expect(graphUsagePause(headers, ACCOUNT, NOW)).toBe(NOW + 60_000);
  });

  it('uses other ids\' entries when the header does not name the account', () => {
    const headers = new Headers({ 'x-business-use-case-usage': JSON.stringify({ '999': [{ type: 'instagram', estimated_time_to_regain_access: 2 }] }) });
    expect(graphUsagePause(headers, ACCOUNT, NOW)).toBe(NOW + 2 * 60_000);
  });

  it('ignores malformed headers', () => {
    const headers = new Headers({ 'x-business-use-case-usage': 'not json', 'x-app-usage': '[1,2]' });
    expect(graphUsagePause(headers, ACCOUNT, NOW)).toBeUndefined();
  });
});

describe('classifyGraphError: what only an administrator can fix, and code 2', () => {
  it.each([
    ['API calls from the server require an appsecret_proof argument'],
    ['Invalid appsecret_proof provided in the API argument'],
  ])('"%s" is a configuration error whose sentence does not ask the agent to change the message', (message) => {
    const error = classifyGraphError(400, { error: { message, type: 'GraphMethodException', code: 100, fbtrace_id: TRACE } }, ctx);
    expect(error).toBeInstanceOf(GraphConfigurationError);
    expect(error.reason).toBe('GeneralError');
    expect(error.message).toMatch(/appSecretProof/);
    expect(error.message).not.toMatch(/Change it/);
    expect(error.message).toContain(ref(100));
  });

  it('keeps any other code 100 an invalid message', () => {
    expect(classifyGraphError(400, graphBody(100), ctx)).not.toBeInstanceOf(GraphConfigurationError);
  });

  it('tells the agent that code 2 may mean the customer blocked the account', () => {
    const error = classifyGraphError(400, graphBody(2), ctx);
    expect(error).toBeInstanceOf(RetryableError);
    expect(error.message).toMatch(/blocked the account/);
  });
});
