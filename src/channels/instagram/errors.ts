/**
 * Maps the Instagram Graph API's answers onto the bridge's error taxonomy, in one place. Classify on `code` +
 * `error_subcode`, never on the message text, which Meta localises
 * (https://developers.facebook.com/docs/graph-api/guides/error-handling; instagram-messaging.md §5, §6).
 * A PermanentError's message is the sentence the agent reads in the Failed receipt; so is a RetryableError's once
 * retries run out. Every sentence ends with the Graph code and fbtrace_id, which Meta support asks for.
 */
import { PermanentError, RetryableError, type GenesysReasonCode } from '../../core/errors.js';
import { formatUtcTime } from '../../core/window.js';
import type { HeaderReader } from '../../net/http.js';

export interface GraphErrorContext {
  accountId: string;
  /** Epoch ms. */
  now: number;
  /** When the bridge believes the reply window closed, for the MessageExpired sentence. */
  windowClosedAt?: number;
  /** The response headers: rate-limit usage and Retry-After. */
  headers?: HeaderReader;
}

/** Meta's error envelope `{error:{message,type,code,error_subcode,is_transient,fbtrace_id}}`. */
export interface GraphErrorBody {
  message?: string;
  code?: number;
  error_subcode?: number;
  is_transient?: boolean;
  fbtrace_id?: string;
}

/** Every job sending as this Instagram account waits out its rate limit (design.md, guarantee 4). */
export function graphPauseKey(accountId: string): string {
  return `instagram:${accountId}`;
}

/** Pause when Meta does not say how long: long enough for a rolling usage window to move. */
const DEFAULT_RATE_LIMIT_PAUSE_MS = 60_000;

type Say = string | ((error: GraphErrorBody, ctx: GraphErrorContext) => string);
type Retry = 'rate_limit' | 'server';
/** `code` is one code, a list, or an inclusive range `{ from, to }`; `sub` absent matches any subcode. */
interface Rule {
  code: number | number[] | { from: number; to: number } | '*';
  sub?: number[];
  retry?: Retry;
  reason: GenesysReasonCode;
  say: Say;
}

const NOT_SENT = 'the message was not sent.';
const RECONNECT = `An administrator must reconnect the account in dmbridge; ${NOT_SENT}`;
const BLOCKED = `The customer has blocked the account or can no longer receive messages. Contact them another way; ${NOT_SENT}`;
const PERMISSION = `The bridge's Instagram app lacks a permission to message for this account. An administrator must check the app's permissions and reconnect the account; ${NOT_SENT}`;
const NOT_OWNER = `Another app (such as the Instagram inbox) controls this conversation. Take it back in the Instagram app, then send again; ${NOT_SENT}`;
const RATE_LIMITED = 'Instagram is limiting how many messages this account may send; the bridge waited and retried but could not deliver in time. Send the message again in a few minutes.';
const UNAVAILABLE = 'Instagram had a temporary problem; the bridge retried but could not deliver in time. Send the message again in a few minutes.';
/**
 * Code 2 is Meta's "unexpected error, retry later", which Meta says it also answers "if a customer has blocked your
 * business from messaging him or her" (https://developers.facebook.com/docs/messenger-platform/error-codes): no
 * subcode tells the two apart, so it is retried only until the reply deadline and the agent is told both.
 */
const UNAVAILABLE_OR_BLOCKED =
  "Instagram answered with its generic error (code 2), which it also gives when the customer has blocked the account; the bridge retried but could not deliver in time. Send the message again in a few minutes; if it fails again, the customer has probably blocked the account: contact them another way.";
const APP_SECRET_PROOF =
  "Meta refused the bridge's call because the app requires appsecret_proof (the app's \"Require App Secret\" setting) and the bridge sent none or a wrong one. An administrator must set the connection's appSecretProof to true, with the secret of the app that issued the token in appSecret; the message was not sent.";

/**
 * A refusal only an administrator can fix (the app's settings, the connection's configuration): logged at error
 * level, and the agent's sentence says so instead of asking to change the message.
 */
export class GraphConfigurationError extends PermanentError {}

/**
 * instagram-messaging.md §5, first match wins (specific subcodes before their code's catch-all). Sources:
 * https://developers.facebook.com/docs/messenger-platform/error-codes,
 * https://developers.facebook.com/docs/graph-api/guides/error-handling,
 * https://developers.facebook.com/docs/graph-api/overview/rate-limiting.
 */
const RULES: Rule[] = [
  { code: 613, sub: [2018338], reason: 'MessageNotAllowed', say: `Instagram refused the HUMAN_AGENT tag on this reply (tag misuse). Wait until the customer writes again; ${NOT_SENT}` },
  { code: [4, 17, 32, 341, 613, 80002, 80006], retry: 'rate_limit', reason: 'RateLimited', say: RATE_LIMITED },
  { code: 1, retry: 'server', reason: 'ServerError', say: UNAVAILABLE },
  { code: 2, retry: 'server', reason: 'ServerError', say: UNAVAILABLE_OR_BLOCKED },
  { code: '*', sub: [2018300], reason: 'MessageNotAllowed', say: NOT_OWNER },
  { code: 10, sub: [2534022, 2018278, 2018065], reason: 'MessageExpired', say: windowClosed },
  { code: 10, sub: [2018108], reason: 'MessageNotAllowed', say: `Instagram says the customer can't receive messages from this account right now. Try later or contact them another way; ${NOT_SENT}` },
  { code: 10, sub: [1893063], reason: 'MessageNotAllowed', say: `Instagram has temporarily restricted this account from sending messages. An administrator should check the account in the Instagram app; ${NOT_SENT}` },
  { code: 10, sub: [2534077], reason: 'GeneralError', say: `Instagram could not verify the link between this Instagram account, its user and its Page. ${RECONNECT}` },
  { code: 10, reason: 'GeneralError', say: PERMISSION },
  { code: 551, reason: 'RecipientOptedOut', say: BLOCKED },
  { code: 200, sub: [1545041], reason: 'RecipientOptedOut', say: BLOCKED },
  { code: 200, sub: [2534041], reason: 'MessageNotAllowed', say: `The account owner has turned off access to messages for connected tools in the Instagram app's settings. Ask them to allow it again; ${NOT_SENT}` },
  { code: { from: 200, to: 299 }, reason: 'GeneralError', say: PERMISSION },
  { code: 100, sub: [2534014], reason: 'InvalidDestination', say: `Instagram knows no customer with this id for this account (or the connection's token and host do not match). An administrator should check the connection; ${NOT_SENT}` },
  { code: 100, sub: [2534013], reason: 'GeneralError', say: `The Instagram account is not linked to a Facebook Page. ${RECONNECT}` },
  { code: 100, sub: [2018008], reason: 'GeneralError', say: `Instagram could not download the attachment from its link. Check that the file is still available and send it again; ${NOT_SENT}` },
  { code: 100, sub: [2018047], reason: 'MediaTypeNotAllowed', say: `Instagram does not accept this file type, or the file is not what its type says (images: PNG, JPEG, GIF; video: MP4, MOV, WebM; audio: AAC, M4A, WAV; files: PDF); ${NOT_SENT}` },
  { code: 100, sub: [2018294], reason: 'GeneralError', say: `Instagram gave up downloading the video after 75 seconds. Send a smaller video; ${NOT_SENT}` },
  { code: 100, sub: [2018109], reason: 'InvalidMediaContentLength', say: `The attachment is too large for Instagram (images up to 8 MB, other files up to 25 MB). Send a smaller file; ${NOT_SENT}` },
  { code: 100, sub: [2534037], reason: 'MessageNotAllowed', say: NOT_OWNER },
  { code: 100, sub: [2534029], reason: 'MessageNotAllowed', say: `Instagram has blocked this business from its messaging API. An administrator must contact Meta; ${NOT_SENT}` },
  { code: 100, reason: 'InvalidMessageStructure', say: (e) => `Instagram rejected the message as invalid ("${graphMessage(e)}"). Change it and send it again; ${NOT_SENT}` },
  { code: 190, reason: 'GeneralError', say: `Instagram rejected the bridge's access token for this account. ${RECONNECT}` },
  { code: 368, reason: 'MessageNotAllowed', say: `Instagram has blocked this account from sending for policy violations. An administrator should check the account's status with Meta; ${NOT_SENT}` },
  { code: 9000001, reason: 'UnknownMessage', say: `Instagram reports this message as deleted; ${NOT_SENT}` },
];

/**
 * | answer                                             | result                                                   |
 * |----------------------------------------------------|----------------------------------------------------------|
 * | HTTP 429, or a rate-limit code (4, 17, 32, 341, 613, 80002, 80006) | RetryableError RateLimited, pauseKey, retryAfterMs |
 * | codes 1, 2; `is_transient`; 5xx and 408            | RetryableError ServerError                               |
 * | a code in RULES                                    | PermanentError with that rule's reason and sentence      |
 * | any other code                                     | PermanentError GeneralError quoting Meta's message       |
 * A known permanent code with `is_transient: true` is retried: Meta says it may succeed later.
 */
export function classifyGraphError(status: number, body: unknown, ctx: GraphErrorContext): RetryableError | PermanentError {
  const error = graphErrorOf(body);
  const rule = error?.code !== undefined ? findRule(error.code, error.error_subcode) : undefined;
  const ref = supportReference(status, error);
  if (isAppSecretProofRefusal(error)) return new GraphConfigurationError(`${APP_SECRET_PROOF} ${ref}`, { reason: 'GeneralError' });
  if (status === 429 || rule?.retry === 'rate_limit') {
    return new RetryableError(`${RATE_LIMITED} ${ref}`, {
      reason: 'RateLimited',
      pauseKey: graphPauseKey(ctx.accountId),
      retryAfterMs: rateLimitWaitMs(ctx),
    });
  }
  if (rule?.retry === 'server' || error?.is_transient === true || status >= 500 || status === 408) {
    const sentence = rule?.retry === 'server' ? say(rule.say, error ?? {}, ctx) : UNAVAILABLE;
    return new RetryableError(`${sentence} ${ref}`, { reason: 'ServerError' });
  }
  if (rule) return new PermanentError(`${say(rule.say, error ?? {}, ctx)} ${ref}`, { reason: rule.reason });
  const what = error ? `Instagram refused the message ("${graphMessage(error)}")` : `Instagram answered HTTP ${status} without a Graph error`;
  return new PermanentError(`${what}; ${NOT_SENT} If it keeps happening, give support this reference. ${ref}`, {
    reason: 'GeneralError',
  });
}

/** An HTTP call that threw (timeout, refused connection, reset): worth retrying. */
export function classifyGraphFetchError(err: unknown, timeoutMs: number): { error: RetryableError; statusLabel: 'timeout' | 'network' } {
  const name = (err as { name?: unknown } | null)?.name;
  const timedOut = name === 'TimeoutError' || name === 'AbortError';
  const what = timedOut ? `did not answer within ${timeoutMs} ms` : 'could not be reached';
  return {
    error: new RetryableError(`Instagram ${what}; the bridge retried but could not deliver in time. Send the message again in a few minutes.`, {
      reason: 'ServerError',
      cause: err,
    }),
    statusLabel: timedOut ? 'timeout' : 'network',
  };
}

/**
 * Until when (epoch ms) the account should stop calling, from Meta's usage headers; undefined when it need not.
 * `X-Business-Use-Case-Usage: {"<id>":[{type, call_count, total_cputime, total_time, estimated_time_to_regain_access}]}`
 * (percentages; the estimate in minutes) and `X-App-Usage: {call_count, total_cputime, total_time}`. At 100 % Meta
 * throttles, so the bridge stops at 95 % (https://developers.facebook.com/docs/graph-api/overview/rate-limiting).
 */
export function graphUsagePause(headers: HeaderReader, accountId: string, now: number): number | undefined {
  const entries = [...businessUsage(headers.get('x-business-use-case-usage'), accountId), ...appUsage(headers.get('x-app-usage'))];
  let until: number | undefined;
  for (const usage of entries) {
    const regainMinutes = numberOr0(usage.estimated_time_to_regain_access);
    const busiest = Math.max(numberOr0(usage.call_count), numberOr0(usage.total_cputime), numberOr0(usage.total_time));
    if (regainMinutes <= 0 && busiest < USAGE_PAUSE_PERCENT) continue;
    const pause = regainMinutes > 0 ? regainMinutes * 60_000 : DEFAULT_RATE_LIMIT_PAUSE_MS;
    until = Math.max(until ?? 0, now + pause);
  }
  return until;
}

const USAGE_PAUSE_PERCENT = 95;

interface Usage {
  call_count?: unknown;
  total_cputime?: unknown;
  total_time?: unknown;
  estimated_time_to_regain_access?: unknown;
}

/** The account's own entries when the header names it, else every entry (the header covers this call only). */
function businessUsage(value: string | null, accountId: string): Usage[] {
  const parsed = parseJson(value);
  if (!isRecord(parsed)) return [];
  const own = parsed[accountId];
  const lists = Array.isArray(own) ? [own] : Object.values(parsed);
  return lists.flatMap((list) => (Array.isArray(list) ? list.filter(isRecord) : []));
}

function appUsage(value: string | null): Usage[] {
  const parsed = parseJson(value);
  return isRecord(parsed) ? [parsed] : [];
}

/** The wait for a rate limit: Meta's estimate, else Retry-After, else the default. */
function rateLimitWaitMs(ctx: GraphErrorContext): number {
  const until = ctx.headers ? graphUsagePause(ctx.headers, ctx.accountId, ctx.now) : undefined;
  const estimated = until !== undefined && until > ctx.now ? until - ctx.now : undefined;
  const retryAfter = Number(ctx.headers?.get('retry-after') ?? '');
  return Math.max(estimated ?? 0, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : 0) || DEFAULT_RATE_LIMIT_PAUSE_MS;
}

/**
 * "API calls from the server require an appsecret_proof argument" and "Invalid appsecret_proof provided in the API
 * argument" are code 100 without a subcode of their own (https://developers.facebook.com/docs/graph-api/security),
 * so, unlike every other row, they are told apart by the message: by the parameter's name, an identifier that Meta
 * does not translate (the exact wording is UNCONFIRMED).
 */
function isAppSecretProofRefusal(error: GraphErrorBody | undefined): boolean {
  return error?.code === 100 && /\bappsecret_proof\b/.test(error.message ?? '');
}

function findRule(code: number, subcode: number | undefined): Rule | undefined {
  return RULES.find((r) => codeMatches(r.code, code) && (r.sub === undefined || (subcode !== undefined && r.sub.includes(subcode))));
}

function codeMatches(pattern: Rule['code'], code: number): boolean {
  if (pattern === '*') return true;
  if (typeof pattern === 'number') return pattern === code;
  if (Array.isArray(pattern)) return pattern.includes(code);
  return code >= pattern.from && code <= pattern.to;
}

function say(sentence: Say, error: GraphErrorBody, ctx: GraphErrorContext): string {
  return typeof sentence === 'string' ? sentence : sentence(error, ctx);
}

function windowClosed(_error: GraphErrorBody, ctx: GraphErrorContext): string {
  const when = ctx.windowClosedAt !== undefined ? ` at ${formatUtcTime(ctx.windowClosedAt, ctx.now)}` : '';
  return (
    `Instagram refused the reply because this conversation's reply window has closed${when} (24 hours after the ` +
    `customer's last message; 7 days for a human agent where enabled). Ask the customer to write again or continue by email.`
  );
}

/** `(Graph error 100/2534014, fbtrace_id AbC)`, or `(HTTP 503)` when Meta sent no error body. */
function supportReference(status: number, error: GraphErrorBody | undefined): string {
  if (error?.code === undefined) return `(HTTP ${status})`;
  const code = error.error_subcode !== undefined ? `${error.code}/${error.error_subcode}` : String(error.code);
  return `(Graph error ${code}${error.fbtrace_id ? `, fbtrace_id ${error.fbtrace_id}` : ''})`;
}

const MAX_MESSAGE_CHARS = 300;

function graphMessage(error: GraphErrorBody): string {
  const message = error.message?.trim() || 'no message';
  return message.length > MAX_MESSAGE_CHARS ? `${message.slice(0, MAX_MESSAGE_CHARS)}…` : message;
}

/** The `error` object of a Graph answer (parsed JSON or its text), with only well-typed fields kept. */
export function graphErrorOf(body: unknown): GraphErrorBody | undefined {
  const parsed = typeof body === 'string' ? parseJson(body) : body;
  const error = isRecord(parsed) ? parsed.error : undefined;
  if (!isRecord(error)) return undefined;
  const out: GraphErrorBody = {};
  if (typeof error.message === 'string') out.message = error.message;
  if (Number.isInteger(error.code)) out.code = error.code as number;
  if (Number.isInteger(error.error_subcode)) out.error_subcode = error.error_subcode as number;
  if (typeof error.is_transient === 'boolean') out.is_transient = error.is_transient;
  if (typeof error.fbtrace_id === 'string') out.fbtrace_id = error.fbtrace_id;
  return out;
}

function parseJson(text: string | null): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function numberOr0(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}
