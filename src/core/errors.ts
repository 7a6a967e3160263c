/**
 * The bridge's error taxonomy. Channel and Genesys clients map the other side's answers onto these in one
 * place each (`classify*Error`); the worker only looks at the class to decide retry, pause or dead-letter.
 */

/** Genesys `ConversationReason.code` values (genesys-open-messaging.md, key fact 13). */
export type GenesysReasonCode =
  | 'MessageExpired'
  | 'RateLimited'
  | 'MessageNotAllowed'
  | 'GeneralError'
  | 'UnsupportedMessage'
  | 'UnknownMessage'
  | 'InvalidMessageStructure'
  | 'InvalidDestination'
  | 'ServerError'
  | 'MediaTypeNotAllowed'
  | 'InvalidMediaContentLength'
  | 'RecipientOptedOut'
  | 'DataFiltered';

/**
 * Worth trying again later: timeouts, 5xx, 429 and rate limits. When retries run out, `reason` and the
 * message become the agent's Failed receipt, so write the message for the agent.
 */
export class RetryableError extends Error {
  override readonly name = 'RetryableError';
  /** Earliest retry the other side asked for (Retry-After), in ms from now. */
  readonly retryAfterMs: number | undefined;
  /** When set, every job using this key (an account, an OAuth client) waits, not just this one. */
  readonly pauseKey: string | undefined;
  /** The Genesys reason if this is the last attempt (`ServerError` unless said). */
  readonly reason: GenesysReasonCode;
  constructor(
    message: string,
    opts: { retryAfterMs?: number; pauseKey?: string; reason?: GenesysReasonCode; cause?: unknown } = {},
  ) {
    super(message, { cause: opts.cause });
    this.retryAfterMs = opts.retryAfterMs;
    this.pauseKey = opts.pauseKey;
    this.reason = opts.reason ?? 'ServerError';
  }
}

/**
 * Will never succeed as sent: bad request, closed window, blocked user, missing permission. For agent
 * replies the message is the sentence the agent reads in the Failed receipt: say what happened and what to do.
 */
export class PermanentError extends Error {
  override readonly name: string = 'PermanentError';
  readonly reason: GenesysReasonCode;
  constructor(message: string, opts: { reason?: GenesysReasonCode; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.reason = opts.reason ?? 'GeneralError';
  }
}

/**
 * The platform's rules refuse this message: its reply window closed, the customer blocked the brand or opted out.
 * The agent's Failed receipt is the whole outcome — nothing broke, so nothing is dead-lettered for an operator.
 */
export class PlatformRefusal extends PermanentError {
  override readonly name = 'PlatformRefusal';
}

/**
 * The store's data is damaged (a corrupt SQLite file): no retry can fix it, and every later write would be
 * acknowledged into a store that delivers nothing. The message is the sentence the operator reads: what is
 * damaged and what to do. `dmbridge serve` refuses to start on such a store; a store that becomes damaged while
 * running refuses every later call with this error, so webhooks are answered 503 (the platforms deliver them
 * again) and the readiness probe fails.
 */
export class StoreCorruptError extends Error {
  override readonly name = 'StoreCorruptError';
}

/**
 * Stable, greppable codes for every refusal the bridge makes, with the HTTP status it answers.
 * docs/errors.md explains each one.
 */
export const DMB_ERR = {
  SIGNATURE_MISSING: { code: 'DMB_ERR_SIGNATURE_MISSING', status: 401 },
  SIGNATURE_INVALID: { code: 'DMB_ERR_SIGNATURE_INVALID', status: 401 },
  VERIFY_TOKEN_MISMATCH: { code: 'DMB_ERR_VERIFY_TOKEN_MISMATCH', status: 403 },
  BODY_TOO_LARGE: { code: 'DMB_ERR_BODY_TOO_LARGE', status: 413 },
  UNSUPPORTED_MEDIA_TYPE: { code: 'DMB_ERR_UNSUPPORTED_MEDIA_TYPE', status: 415 },
  MALFORMED_JSON: { code: 'DMB_ERR_MALFORMED_JSON', status: 400 },
  UNKNOWN_CONNECTION: { code: 'DMB_ERR_UNKNOWN_CONNECTION', status: 404 },
  STORE_UNAVAILABLE: { code: 'DMB_ERR_STORE_UNAVAILABLE', status: 503 },
  MEDIA_TOKEN_INVALID: { code: 'DMB_ERR_MEDIA_TOKEN_INVALID', status: 403 },
  MEDIA_EXPIRED: { code: 'DMB_ERR_MEDIA_EXPIRED', status: 410 },
  MEDIA_UNAVAILABLE: { code: 'DMB_ERR_MEDIA_UNAVAILABLE', status: 502 },
  SIGNATURE_STALE: { code: 'DMB_ERR_SIGNATURE_STALE', status: 401 },
  NOT_FOUND: { code: 'DMB_ERR_NOT_FOUND', status: 404 },
  INTERNAL: { code: 'DMB_ERR_INTERNAL', status: 500 },
  ADMIN_UNAUTHORIZED: { code: 'DMB_ERR_ADMIN_UNAUTHORIZED', status: 401 },
} as const;

export type DmbErrorName = keyof typeof DMB_ERR;
