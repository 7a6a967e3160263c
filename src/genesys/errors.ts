/**
 * Maps Genesys Cloud's answers onto the bridge's error taxonomy, in one place.
 * Status table: genesys-open-messaging.md §2.5; 429 shape and Retry-After: §1
 * (https://developer.genesys.cloud/forum/t/normalized-platform-api-429-responses/12028).
 */
import { PermanentError, RetryableError, type GenesysReasonCode } from '../core/errors.js';
import type { HeaderReader } from '../net/http.js';

/** What a classification needs besides the response: who called, and now (for HTTP-date Retry-After). */
export interface GenesysCallContext {
  /** `message` | `event` | `receipt` | `token`: for the error text. */
  operation: string;
  /** The OAuth client id: the rate limit is per client-credentials client, so the pause is too. */
  clientId: string;
  /** Epoch ms. */
  now: number;
}

/** Every job calling Genesys with this OAuth client waits out its 429 (design.md, guarantee 4). */
export function genesysPauseKey(clientId: string): string {
  return `genesys:${clientId}`;
}

/** Genesys refused the body itself (400): it may go once more made smaller (./fit.ts). */
export class GenesysBadRequest extends PermanentError {}

/** Reason code and operator hint for each permanent status; anything not listed is a GeneralError. */
const PERMANENT: Record<number, { reason: GenesysReasonCode; hint?: string }> = {
  400: { reason: 'InvalidMessageStructure' },
  401: {
    reason: 'GeneralError',
    hint: 'a fresh token was refused too; check that genesys.apiBaseUrl is in the same region as genesys.loginBaseUrl',
  },
  403: {
    reason: 'GeneralError',
    hint: "the OAuth client's role needs the permission conversation:message:receive",
  },
  404: {
    reason: 'GeneralError',
    hint: "check the connection's genesys.integrationId: it must be an Open Messaging integration of this org and region",
  },
};

/**
 * | status          | class          | extra                                        |
 * |-----------------|----------------|----------------------------------------------|
 * | 429             | RetryableError | retryAfterMs from Retry-After, pauseKey      |
 * | 408, 5xx        | RetryableError |                                              |
 * | 400             | PermanentError | InvalidMessageStructure                      |
 * | 401, 403, 404   | PermanentError | GeneralError + configuration hint            |
 * | any other       | PermanentError | GeneralError                                 |
 * 401 reaches here only after the client re-requested a token and retried once.
 */
export function classifyGenesysResponse(
  status: number,
  headers: HeaderReader,
  bodyText: string,
  ctx: GenesysCallContext,
): RetryableError | PermanentError {
  const what = `Genesys ${ctx.operation} request failed: ${describeGenesysError(status, bodyText)}`;
  if (status === 429) {
    return new RetryableError(what, {
      retryAfterMs: parseRetryAfter(headers.get('retry-after'), ctx.now),
      pauseKey: genesysPauseKey(ctx.clientId),
    });
  }
  if (status === 408 || status >= 500) return new RetryableError(what);
  const rule = PERMANENT[status] ?? { reason: 'GeneralError' };
  const Refusal = status === 400 ? GenesysBadRequest : PermanentError;
  return new Refusal(rule.hint ? `${what}; ${rule.hint}` : what, { reason: rule.reason });
}

/** An HTTP call that threw (timeout, refused connection, reset): always worth retrying. */
export function classifyGenesysFetchError(
  err: unknown,
  operation: string,
  timeoutMs: number,
): { error: RetryableError; statusLabel: 'timeout' | 'network' } {
  const name = (err as { name?: unknown } | null)?.name;
  if (name === 'TimeoutError' || name === 'AbortError') {
    return {
      error: new RetryableError(`Genesys ${operation} request timed out after ${timeoutMs} ms`, { cause: err }),
      statusLabel: 'timeout',
    };
  }
  const cause = (err as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  const detail = String(cause?.code ?? cause?.message ?? (err as Error)?.message ?? err);
  return {
    error: new RetryableError(`Genesys ${operation} request failed: ${detail}`, { cause: err }),
    statusLabel: 'network',
  };
}

/** `Retry-After` is delta-seconds or an HTTP date (RFC 9110 §10.2.3); ms from now, never negative. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

const MAX_DETAIL_CHARS = 500;

/**
 * `HTTP 400 bad.request: <message> (contextId <id>)` from Genesys's error body
 * `{message, code, status, contextId, details, errors}`; the raw body when it is not that shape.
 * The contextId, which Genesys support asks for, is kept even when the rest is truncated.
 */
export function describeGenesysError(status: number, bodyText: string): string {
  let detail = bodyText.trim();
  let contextId = '';
  try {
    const body = JSON.parse(bodyText) as { code?: unknown; message?: unknown; contextId?: unknown } | null;
    if (body && typeof body === 'object') {
      detail = [body.code, body.message].filter((p) => typeof p === 'string' && p !== '').join(': ');
      if (typeof body.contextId === 'string') contextId = ` (contextId ${body.contextId})`;
    }
  } catch {
    // Not JSON (a proxy's HTML page, an empty body): keep the raw text.
  }
  if (detail.length > MAX_DETAIL_CHARS) detail = `${detail.slice(0, MAX_DETAIL_CHARS)}…`;
  return `HTTP ${status}${detail ? ` ${detail}` : ''}${contextId}`;
}
