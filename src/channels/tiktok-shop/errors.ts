/**
 * Maps TikTok Shop Open API answers onto the bridge's error taxonomy, in one place (tiktok-shop.md §3 Errors, key
 * fact 11). Every answer is the envelope `{code, message, request_id, data}` with `code == 0` for success; which HTTP
 * status a business error comes with is UNCONFIRMED, so the body's code is checked whatever the status. Classify on
 * `code`, never on `message`. A PermanentError's message is the sentence the agent reads in the Failed receipt; so is
 * a RetryableError's once retries run out. Each ends with `(TikTok Shop error <code>, request_id <id>)`.
 *
 * The shop's rules refusing a message (a closed conversation, a buyer the seller may not write to, words its
 * policies forbid, what chat cannot carry) are PlatformRefusal: the agent's Failed receipt is the whole outcome, no
 * operator has anything to fix. Everything else permanent (bad parameters, scope, credentials) is dead-lettered.
 */
import { PermanentError, PlatformRefusal, RetryableError, type GenesysReasonCode } from '../../core/errors.js';
import { formatUtcTime } from '../../core/window.js';
import { envelopeMessage, supportReference, tiktokApiEnvelopeOf, type TikTokApiEnvelope } from '../tiktok-envelope.js';

export interface TikTokShopErrorContext {
  shopId: string;
  /** Epoch ms. */
  now: number;
  /** When the bridge believes the conversation closed, for the 45109001 sentence. */
  windowClosedAt?: number;
}

/** Every call for this shop waits out its rate limit or daily quota, on every instance (design.md, guarantee 4). */
export function tiktokShopPauseKey(shopId: string): string {
  return `tiktok-shop:${shopId}`;
}

/** 50 requests per second per API (key fact 11): a second's pause clears the window. */
export const TTS_THROTTLE_PAUSE_MS = 1000;

/**
 * 105002: the access token expired. A distinct class so the client refreshes once and retries once; raised again,
 * this sentence is final.
 */
export class TikTokShopTokenError extends PermanentError {
  readonly ttsCode = 105002;
}

/**
 * Codes that need an administrator (scope, credentials, signing, IP allow list, the daily quota): the client logs
 * them at error level, as the operator's alert.
 */
export const TTS_ADMIN_CODES: ReadonlySet<number> = new Set([105005, 101000, 106013, 106001, 36009004, 36009033, 45101004]);

const NOT_SENT = 'the message was not sent.';
const ADMIN = 'An administrator must fix the TikTok Shop connection';
const RATE_LIMITED =
  'TikTok Shop is limiting how many requests the bridge may make for this shop (50 per second per API); the bridge ' +
  'waited and retried but could not deliver in time. Send the message again in a few minutes.';
const UNAVAILABLE = 'TikTok Shop had a temporary problem; the bridge retried but could not deliver in time. Send the message again in a few minutes.';
const ELIGIBLE =
  'only if the buyer and the shop chatted in the last 30 days, the buyer ordered from the shop in the last 60 days, ' +
  'or has a return or refund with the shop';
/** 45109003: Create Conversation refused (reference §5 Window). */
export const TTS_NOT_ALLOWED = `TikTok Shop lets a seller write to a buyer ${ELIGIBLE}; this buyer meets none of these, so ${NOT_SENT}`;

/**
 * `can_send_message: false` before the reply (reference §5 Window: "pre-check can_send_message and fail locally"):
 * `closedAt` when the bridge counted the conversation closed and was about to reopen it.
 */
export function tiktokShopCannotWrite(opts: { closedAt?: number; now: number }): PlatformRefusal {
  if (opts.closedAt !== undefined) {
    return new PlatformRefusal(
      `This TikTok Shop conversation closed at ${formatUtcTime(opts.closedAt, opts.now)} (6 hours after a reply the buyer ` +
        `did not answer, 7 days after an unanswered buyer message), and TikTok Shop lets a seller reopen it ${ELIGIBLE}; ` +
        `it says this buyer meets none of these, so ${NOT_SENT} Wait for the buyer to write again.`,
      { reason: 'MessageNotAllowed' },
    );
  }
  return new PlatformRefusal(
    'TikTok Shop says the shop may not write in this conversation now: it closed earlier than the bridge counted, and ' +
      `a seller may reopen it ${ELIGIBLE}, which this buyer does not meet. Wait for the buyer to write again, or answer ` +
      `from Seller Center; ${NOT_SENT}`,
    { reason: 'MessageExpired' },
  );
}

type Say = string | ((e: TikTokApiEnvelope, ctx: TikTokShopErrorContext) => string);
interface Rule {
  /** `throttle`: pause the shop briefly; `quota`: pause the shop until tomorrow; `transient`: back off. Absent: final. */
  retry?: 'throttle' | 'quota' | 'transient';
  /** Final, and the platform's rules said no (a PlatformRefusal): the receipt tells the agent, nothing is dead-lettered. */
  refusal?: true;
  reason: GenesysReasonCode;
  say: Say;
}

/** tiktok-shop.md §3 Errors, one row per code. The Genesys reasons are dmbridge's choice. */
const RULES: Record<number, Rule> = {
  45109001: { refusal: true, reason: 'MessageExpired', say: closedConversation },
  45109003: { refusal: true, reason: 'MessageNotAllowed', say: TTS_NOT_ALLOWED },
  45101006: { refusal: true, reason: 'MessageNotAllowed', say: `TikTok Shop refused the message because it contains words its policies do not allow. Rephrase it and send it again; ${NOT_SENT}` },
  45101001: { reason: 'InvalidMessageStructure', say: (e) => `TikTok Shop rejected the message as invalid ("${envelopeMessage(e)}"). Change it and send it again; ${NOT_SENT}` },
  45101002: { refusal: true, reason: 'InvalidMessageStructure', say: `TikTok Shop refused the return/refund card: the order does not meet the after-sale conditions; ${NOT_SENT}` },
  45111017: { refusal: true, reason: 'InvalidMessageStructure', say: `TikTok Shop refused the coupon card: only ongoing chat or regular Seller Center coupons can be sent; ${NOT_SENT}` },
  45101003: { reason: 'InvalidDestination', say: `TikTok Shop does not know this conversation any more. Wait for the buyer to write again; ${NOT_SENT}` },
  45102007: { reason: 'InvalidDestination', say: `TikTok Shop says the bridge may not access this conversation. Answer it from Seller Center; ${NOT_SENT}` },
  45111001: { refusal: true, reason: 'MediaTypeNotAllowed', say: `TikTok Shop does not support this kind of message (it takes text and JPG, PNG, GIF or WebP images up to 10 MB); ${NOT_SENT}` },
  45101004: {
    retry: 'quota',
    reason: 'RateLimited',
    say: 'TikTok Shop allows the bridge 10,000 customer-service requests a day for this shop and they are used up; the bridge will try again tomorrow. Send urgent replies from Seller Center.',
  },
  36009002: { retry: 'throttle', reason: 'RateLimited', say: RATE_LIMITED },
  45111012: { retry: 'throttle', reason: 'RateLimited', say: RATE_LIMITED },
  36009003: { retry: 'transient', reason: 'ServerError', say: UNAVAILABLE },
  36009007: { retry: 'transient', reason: 'ServerError', say: UNAVAILABLE },
  45101008: { retry: 'transient', reason: 'ServerError', say: UNAVAILABLE },
  105005: { reason: 'GeneralError', say: `${ADMIN}: the app lacks the Customer Service scope or it is not approved (Partner Center); ${NOT_SENT}` },
  101000: { reason: 'GeneralError', say: `${ADMIN}: its access token does not belong to this shop; ${NOT_SENT}` },
  106013: { reason: 'GeneralError', say: `${ADMIN}: TikTok Shop did not accept the shop cipher of this shop; ${NOT_SENT}` },
  106001: { reason: 'GeneralError', say: `${ADMIN}: TikTok Shop rejected the request signature (wrong app key or secret, or the server's clock is off); ${NOT_SENT}` },
  36009004: { reason: 'GeneralError', say: `${ADMIN}: TikTok Shop rejected the app's credentials, the request time or the API version (check the app key and secret and the server's clock); ${NOT_SENT}` },
  36009033: { reason: 'GeneralError', say: `${ADMIN}: the bridge's IP address is not on the app's IP allow list in Partner Center; ${NOT_SENT}` },
  105002: {
    reason: 'GeneralError',
    say: `${ADMIN}: TikTok Shop no longer accepts the bridge's access token for this shop, even after renewing it; the seller must authorize the app again; ${NOT_SENT}`,
  },
};

/**
 * | answer                                        | result                                                          |
 * |-----------------------------------------------|-----------------------------------------------------------------|
 * | code 0, 2xx                                   | undefined (success)                                             |
 * | a code in RULES                               | that row (PlatformRefusal where `refusal`, else PermanentError)  |
 * | 36009002, 45111012, HTTP 429 / 503 (no known code) | RetryableError RateLimited, the shop paused 1 s              |
 * | 45101004 (daily quota)                        | RetryableError RateLimited, the shop paused until 00:00 UTC     |
 * | 105002                                        | TikTokShopTokenError: the client refreshes once, then it is final |
 * | HTTP 5xx / 408, no usable code                | RetryableError ServerError                                      |
 * | any other code, or a 2xx without an envelope  | RetryableError GeneralError (bounded by the queue's attempts)   |
 * | another 4xx without an envelope               | PermanentError GeneralError (a wrong apiBaseUrl or path)        |
 */
export function classifyTikTokShopError(httpStatus: number, body: unknown, ctx: TikTokShopErrorContext): RetryableError | PermanentError | undefined {
  const envelope = tiktokApiEnvelopeOf(body);
  const code = envelope?.code;
  const ok = httpStatus >= 200 && httpStatus < 300;
  if (code === 0 && ok) return undefined;
  const ref = supportReference('TikTok Shop', httpStatus, envelope);
  const rule = code !== undefined ? RULES[code] : undefined;
  const pauseKey = tiktokShopPauseKey(ctx.shopId);
  if (rule?.retry === 'throttle' || (!rule && (httpStatus === 429 || httpStatus === 503))) {
    return new RetryableError(`${RATE_LIMITED} ${ref}`, { reason: 'RateLimited', pauseKey, retryAfterMs: TTS_THROTTLE_PAUSE_MS });
  }
  if (rule?.retry === 'quota') {
    // "Please try again tomorrow": which day boundary TikTok uses is not documented; UTC midnight is assumed.
    return new RetryableError(`${say(rule.say, envelope ?? {}, ctx)} ${ref}`, { reason: 'RateLimited', pauseKey, retryAfterMs: nextUtcMidnight(ctx.now) - ctx.now });
  }
  if (rule?.retry === 'transient') return new RetryableError(`${say(rule.say, envelope ?? {}, ctx)} ${ref}`, { reason: rule.reason });
  if (code === 105002) return new TikTokShopTokenError(`${say(RULES[105002]!.say, envelope ?? {}, ctx)} ${ref}`, { reason: 'GeneralError' });
  if (rule) return new (rule.refusal ? PlatformRefusal : PermanentError)(`${say(rule.say, envelope ?? {}, ctx)} ${ref}`, { reason: rule.reason });
  if (httpStatus >= 500 || httpStatus === 408 || (code === 0 && !ok)) return new RetryableError(`${UNAVAILABLE} ${ref}`, { reason: 'ServerError' });
  if (code !== undefined || ok) {
    const what = code !== undefined ? `TikTok Shop refused the request ("${envelopeMessage(envelope ?? {})}")` : 'TikTok Shop gave an answer the bridge could not read';
    return new RetryableError(`${what}; the bridge retried but it kept failing, so ${NOT_SENT} If it keeps happening, give support this reference. ${ref}`, { reason: 'GeneralError' });
  }
  return new PermanentError(`TikTok Shop answered HTTP ${httpStatus} without a TikTok Shop error; ${NOT_SENT} An administrator should check the connection's apiBaseUrl. ${ref}`, {
    reason: 'GeneralError',
  });
}

/** A call that threw (timeout, refused connection, reset): worth retrying. TikTok Shop may have sent it anyway. */
export function classifyTikTokShopFetchError(err: unknown, timeoutMs: number): { error: RetryableError; statusLabel: 'timeout' | 'network' } {
  const name = (err as { name?: unknown } | null)?.name;
  const timedOut = name === 'TimeoutError' || name === 'AbortError';
  const what = timedOut ? `did not answer within ${timeoutMs} ms` : 'could not be reached';
  return {
    error: new RetryableError(`TikTok Shop ${what}; the bridge retried but could not deliver in time. Send the message again in a few minutes.`, { reason: 'ServerError', cause: err }),
    statusLabel: timedOut ? 'timeout' : 'network',
  };
}

/** 45109001 is authoritative (reference §5 Window): never retried, it says when the bridge thinks it closed. */
function closedConversation(_e: TikTokApiEnvelope, ctx: TikTokShopErrorContext): string {
  const when = ctx.windowClosedAt !== undefined && ctx.windowClosedAt <= ctx.now ? ` (by the bridge's count at ${formatUtcTime(ctx.windowClosedAt, ctx.now)})` : '';
  return (
    'TikTok Shop closed this conversation: it closes 6 hours after a reply the buyer does not answer, and 7 days after ' +
    `a buyer message nobody answered${when}. Wait for the buyer to write again, or answer from Seller Center; ${NOT_SENT}`
  );
}

function nextUtcMidnight(now: number): number {
  const d = new Date(now);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
}

function say(sentence: Say, e: TikTokApiEnvelope, ctx: TikTokShopErrorContext): string {
  return typeof sentence === 'string' ? sentence : sentence(e, ctx);
}

