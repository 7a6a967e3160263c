/**
 * Maps TikTok Business API answers onto the bridge's error taxonomy, in one place (tiktok-messaging.md §7, key
 * facts 6, 13, 29). TikTok answers errors as HTTP 200 with `code ≠ 0` in the envelope
 * `{code, message, request_id, data}`, so the code is checked on every answer, whatever the status; a non-200
 * status is handled too (which ones TikTok uses is unconfirmed). Classify on `code`, never on `message`.
 * A PermanentError's message is the sentence the agent reads in the Failed receipt; so is a RetryableError's
 * once retries run out. Every sentence ends with `(TikTok error <code>, request_id <id>)` for TikTok support.
 */
import { PermanentError, RetryableError, type GenesysReasonCode } from '../../core/errors.js';
import { formatUtcTime } from '../../core/window.js';
import { envelopeMessage, supportReference, tiktokApiEnvelopeOf, type TikTokApiEnvelope } from '../tiktok-envelope.js';

export interface TikTokErrorContext {
  businessId: string;
  /** Epoch ms. */
  now: number;
  /** When the bridge believes the 48-hour window closed, for the 40064 sentence. */
  windowClosedAt?: number;
}

/** Every job sending as this TikTok business waits out its rate limit (design.md, guarantee 4). */
export function tiktokPauseKey(businessId: string): string {
  return `tiktok:${businessId}`;
}

/** 40100: TikTok's throttle recovers after about 5 minutes (or at midnight UTC for daily caps) — §6 [OBS JM, FX]. */
export const TIKTOK_RATE_LIMIT_PAUSE_MS = 5 * 60_000;

/**
 * 40105: the access token is invalid or expired (also what a `Bearer ` prefix earns, key fact 2). A distinct
 * class so the client refreshes the token once and retries once; if it is raised again, this sentence is final.
 */
export class TikTokTokenError extends PermanentError {
  readonly tiktokCode = 40105;
}

export function isTikTokTokenError(err: unknown): err is TikTokTokenError {
  return err instanceof TikTokTokenError;
}

const NOT_SENT = 'the message was not sent.';
export const TIKTOK_REAUTHORIZE =
  "TikTok no longer accepts the bridge's access token for this account, even after renewing it; an administrator " +
  `must re-authorize the TikTok account for dmbridge; ${NOT_SENT}`;
const RATE_LIMITED =
  'TikTok is limiting how many messages this account may send (about 10 per second, and a daily cap); the bridge ' +
  'waited and retried but could not deliver in time. Send the message again later.';
const UNAVAILABLE = 'TikTok had a temporary problem; the bridge retried but could not deliver in time. Send the message again in a few minutes.';

type Say = string | ((e: TikTokApiEnvelope, ctx: TikTokErrorContext) => string);
interface Rule {
  /** `rate_limit`: pause the account, then retry; `transient`: retry with backoff. Absent: never retry. */
  retry?: 'rate_limit' | 'transient';
  reason: GenesysReasonCode;
  say: Say;
}

/** tiktok-messaging.md §7, one row per code. The Genesys reasons are a dmbridge choice. */
const RULES: Record<number, Rule> = {
  40001: { reason: 'GeneralError', say: `The bridge's TikTok app has no permission for this (a missing scope or the Business Messaging product is not approved). An administrator must check the app and re-authorize the account; ${NOT_SENT}` },
  40002: { reason: 'InvalidMessageStructure', say: (e) => `TikTok rejected the message as invalid ("${envelopeMessage(e)}"). Change it and send it again; ${NOT_SENT}` },
  40007: { reason: 'InvalidDestination', say: `TikTok says this conversation no longer exists. Wait for the customer to write again; ${NOT_SENT}` },
  40064: { reason: 'MessageExpired', say: dmRules },
  40100: { retry: 'rate_limit', reason: 'RateLimited', say: RATE_LIMITED },
  40105: { reason: 'GeneralError', say: TIKTOK_REAUTHORIZE },
  40908: { reason: 'MediaTypeNotAllowed', say: `TikTok does not accept this file type: it only accepts JPG or PNG images up to 3 MB in messages; ${NOT_SENT}` },
  51065: { retry: 'transient', reason: 'ServerError', say: UNAVAILABLE },
};

/**
 * | answer                                   | result                                                            |
 * |------------------------------------------|-------------------------------------------------------------------|
 * | code 0 with a 2xx status                 | undefined (success)                                               |
 * | a code in RULES                          | that row: PermanentError, or RetryableError (40100 pauses the account 5 min) |
 * | 40105                                    | TikTokTokenError (a PermanentError): the caller refreshes once, then it is final |
 * | HTTP 429 without a code                  | RetryableError RateLimited with the account's pause               |
 * | HTTP 5xx / 408, no usable code           | RetryableError ServerError                                        |
 * | any other code, or a 2xx without an envelope | RetryableError GeneralError (bounded retry as transient)      |
 * | another 4xx without an envelope          | PermanentError GeneralError                                       |
 */
export function classifyTikTokError(
  httpStatus: number,
  body: unknown,
  ctx: TikTokErrorContext,
): RetryableError | PermanentError | undefined {
  const envelope = tiktokApiEnvelopeOf(body);
  const code = envelope?.code;
  const ok = httpStatus >= 200 && httpStatus < 300;
  if (code === 0 && ok) return undefined;
  const ref = supportReference('TikTok', httpStatus, envelope);
  const rule = code !== undefined ? RULES[code] : undefined;
  if (rule?.retry === 'rate_limit' || (httpStatus === 429 && !rule)) {
    return new RetryableError(`${RATE_LIMITED} ${ref}`, {
      reason: 'RateLimited',
      pauseKey: tiktokPauseKey(ctx.businessId),
      retryAfterMs: TIKTOK_RATE_LIMIT_PAUSE_MS,
    });
  }
  if (rule?.retry === 'transient') return new RetryableError(`${say(rule.say, envelope ?? {}, ctx)} ${ref}`, { reason: rule.reason });
  if (code === 40105) return new TikTokTokenError(`${TIKTOK_REAUTHORIZE} ${ref}`, { reason: 'GeneralError' });
  if (rule) return new PermanentError(`${say(rule.say, envelope ?? {}, ctx)} ${ref}`, { reason: rule.reason });
  if (httpStatus >= 500 || httpStatus === 408 || (code === 0 && !ok)) return new RetryableError(`${UNAVAILABLE} ${ref}`, { reason: 'ServerError' });
  if (code !== undefined || ok) {
    const what = code !== undefined ? `TikTok refused the message ("${envelopeMessage(envelope ?? {})}")` : 'TikTok gave an answer the bridge could not read';
    return new RetryableError(`${what}; the bridge retried but it kept failing, so ${NOT_SENT} If it keeps happening, give support this reference. ${ref}`, {
      reason: 'GeneralError',
    });
  }
  return new PermanentError(`TikTok answered HTTP ${httpStatus} without a TikTok error; ${NOT_SENT} An administrator should check the connection's apiBaseUrl. ${ref}`, {
    reason: 'GeneralError',
  });
}

/** An HTTP call that threw (timeout, refused connection, reset): worth retrying. TikTok may have sent the message anyway. */
export function classifyTikTokFetchError(err: unknown, timeoutMs: number): { error: RetryableError; statusLabel: 'timeout' | 'network' } {
  const name = (err as { name?: unknown } | null)?.name;
  const timedOut = name === 'TimeoutError' || name === 'AbortError';
  const what = timedOut ? `did not answer within ${timeoutMs} ms` : 'could not be reached';
  return {
    error: new RetryableError(`TikTok ${what}; the bridge retried but could not deliver in time. Send the message again in a few minutes.`, {
      reason: 'ServerError',
      cause: err,
    }),
    statusLabel: timedOut ? 'timeout' : 'network',
  };
}

/** 40064: never retried automatically — TikTok's DM rules blocked it, and a retry only digs deeper (key fact 13). */
function dmRules(_e: TikTokApiEnvelope, ctx: TikTokErrorContext): string {
  const when = ctx.windowClosedAt !== undefined && ctx.windowClosedAt <= ctx.now ? ` This conversation's 48-hour window closed at ${formatUtcTime(ctx.windowClosedAt, ctx.now)}.` : '';
  return (
    'TikTok refused the message under its direct-message rules: a business may send at most 10 messages in the 48 hours ' +
    "after a customer's first message, and only 3 once the customer has been silent for 48 hours (TikTok also caps how " +
    `fast and to how many conversations an account sends).${when} Wait for the customer to write again; ${NOT_SENT}`
  );
}

function say(sentence: Say, e: TikTokApiEnvelope, ctx: TikTokErrorContext): string {
  return typeof sentence === 'string' ? sentence : sentence(e, ctx);
}

