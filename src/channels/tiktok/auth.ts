/**
 * The access-token lifecycle of one TikTok connection, shared by every bridge instance through the store
 * (tiktok-messaging.md key fact 5, §1 "Token practice"). Access tokens live 24 h; the refresh token may ROTATE on
 * every refresh, and a rotated-away refresh token is dead — so exactly one refresh may run at a time (in this
 * process: single-flight; across instances: a store lock) and its result is always persisted before use.
 *
 * The current tokens live in the record `tiktok-token/<connection id>`. When absent it is seeded from the
 * configuration (`accessToken`, `refreshToken`) with an unknown expiry: the access token is used until TikTok
 * answers 40105 or it is refreshed. A stored record wins over the configuration, except once re-authorization is
 * required and the operator has put different tokens in the configuration.
 *
 * When a refresh is refused (code ≠ 0: an invalid or expired refresh token, a revoked app) the connection enters
 * "re-authorization required": logged once at error level (connection id only), reported through
 * `onReauthorizationRequired`, and every later call fails fast with an actionable PermanentError. Never logs tokens.
 */
import { createHash, randomUUID } from 'node:crypto';
import { tiktokApiEnvelopeOf } from '../tiktok-envelope.js';
import type { TikTokConnection } from './config.js';
import { PermanentError, RetryableError } from '../../core/errors.js';
import { silentLogger, type Logger } from '../../logger.js';
import type { Metrics } from '../../metrics.js';
import { httpCall, type HttpCall, type HttpResponse } from '../../net/http.js';
import type { Locks, Records } from '../../core/store.js';
import { classifyTikTokFetchError } from './errors.js';
import { tokenStatus, type TokenStatus } from '../../core/doctor.js';

export const TIKTOK_TOKEN_NAMESPACE = 'tiktok-token';

/** What the store keeps for one connection. */
export interface TikTokTokenRecord {
  accessToken: string;
  /** Epoch ms; undefined when unknown (seeded from config): valid until a 40105 or a refresh. */
  expiresAt?: number;
  refreshToken: string;
  refreshExpiresAt?: number;
  /** Set when a refresh was refused: an administrator must re-authorize. */
  reauthorizationRequired?: boolean;
  /** Hash of the configured tokens this record was seeded from (never the tokens themselves). */
  configFingerprint: string;
  updatedAt: number;
}

export interface TikTokTokensOptions {
  connection: TikTokConnection;
  store: Records & Locks;
  http?: HttpCall;
  /** Per refresh call; must stay well under the 30 s lock. */
  timeoutMs?: number;
  /** How long a caller waits for another instance's refresh before giving up (retryable). */
  lockWaitMs?: number;
  /** Epoch ms. Use the store's clock: the lock's expiry is compared with it. */
  clock?: () => number;
  /** Identifies this instance as the lock owner. */
  owner?: string;
  metrics?: Metrics;
  logger?: Logger;
  /** Alert hook: the refresh token was refused and an administrator must re-authorize the account. */
  onReauthorizationRequired?: (connectionId: string) => void;
}

/** Refresh when less than this remains (§1 Token practice). */
export const TIKTOK_REFRESH_MARGIN_MS = 5 * 60_000;
const LOCK_MS = 30_000;
const LOCK_POLL_MS = 50;
const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_LOCK_WAIT_MS = 10_000;
/** The record must outlive any refresh token; expired records would reseed stale config tokens. */
const RECORD_TTL_MS = 10 * 365 * 24 * 60 * 60_000;

const NOT_SENT = 'the message was not sent.';

export class TikTokTokens {
  readonly connectionId: string;
  private readonly connection: TikTokConnection;
  private readonly store: Records & Locks;
  private readonly http: HttpCall;
  private readonly timeoutMs: number;
  private readonly lockWaitMs: number;
  private readonly clock: () => number;
  private readonly owner: string;
  private readonly metrics: Metrics | undefined;
  private readonly logger: Logger;
  private readonly onReauthorizationRequired: ((connectionId: string) => void) | undefined;
  private readonly lockName: string;
  private readonly fingerprint: string;
  private inflight: Promise<string> | undefined;
  private reported = false;

  constructor(opts: TikTokTokensOptions) {
    this.connection = opts.connection;
    this.connectionId = opts.connection.id;
    this.store = opts.store;
    this.http = opts.http ?? httpCall;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.lockWaitMs = opts.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS;
    this.clock = opts.clock ?? Date.now;
    this.owner = opts.owner ?? `tiktok-tokens:${randomUUID()}`;
    this.metrics = opts.metrics;
    this.logger = opts.logger ?? silentLogger;
    this.onReauthorizationRequired = opts.onReauthorizationRequired;
    this.lockName = `tiktok-refresh:${opts.connection.id}`;
    this.fingerprint = tiktokConfigFingerprint(opts.connection);
  }

  /** A usable access token: refreshed first when less than 5 minutes remain. */
  async getAccessToken(): Promise<string> {
    const record = await this.read();
    this.failIfReauthorizationRequired(record);
    if (!this.expiring(record)) return record.accessToken;
    return this.refresh({ rejected: record.accessToken });
  }

  /**
   * Renews the access token, unless another caller already replaced `rejected` (the token TikTok refused or that
   * is about to expire; default: the current one) with a fresh one — then that one is returned. One refresh at a
   * time per connection, in this process and across instances.
   */
  refresh(opts: { rejected?: string } = {}): Promise<string> {
    this.inflight ??= this.refreshOnce(opts.rejected).finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  /** What `dmbridge doctor` reports: the tokens in use and what the bridge knows of their expiry. Refreshes nothing. */
  async status(): Promise<TokenStatus> {
    return tokenStatus(await this.read());
  }

  /** True once a refresh was refused and no new tokens were configured since. */
  async reauthorizationRequired(): Promise<boolean> {
    return (await this.read()).reauthorizationRequired === true;
  }

  /** The stored tokens, seeded from config when absent (or when re-authorization is required and config changed). */
  private async read(): Promise<TikTokTokenRecord> {
    const stored = await this.store.getRecord<TikTokTokenRecord>(TIKTOK_TOKEN_NAMESPACE, this.connectionId);
    if (stored && !(stored.reauthorizationRequired && stored.configFingerprint !== this.fingerprint)) return stored;
    return {
      accessToken: this.connection.accessToken,
      refreshToken: this.connection.refreshToken,
      configFingerprint: this.fingerprint,
      updatedAt: this.clock(),
    };
  }

  private expiring(record: TikTokTokenRecord): boolean {
    return record.expiresAt !== undefined && record.expiresAt - this.clock() < TIKTOK_REFRESH_MARGIN_MS;
  }

  /** Someone else already put a usable token in place of `rejected`. */
  private replaced(record: TikTokTokenRecord, rejected: string | undefined): boolean {
    return rejected !== undefined && record.accessToken !== rejected && !this.expiring(record) && !record.reauthorizationRequired;
  }

  private async refreshOnce(rejected: string | undefined): Promise<string> {
    const deadline = this.clock() + this.lockWaitMs;
    rejected ??= (await this.read()).accessToken;
    for (;;) {
      if (await this.store.acquireLock(this.lockName, this.owner, this.clock() + LOCK_MS)) {
        try {
          const record = await this.read();
          this.failIfReauthorizationRequired(record);
          if (this.replaced(record, rejected)) return record.accessToken;
          return await this.callRefresh(record);
        } finally {
          await this.store.releaseLock(this.lockName, this.owner);
        }
      }
      // Another instance is refreshing: wait briefly and re-read what it stored.
      await sleep(LOCK_POLL_MS);
      const record = await this.read();
      this.failIfReauthorizationRequired(record);
      if (this.replaced(record, rejected)) return record.accessToken;
      if (this.clock() > deadline) {
        throw new RetryableError(
          'Another dmbridge instance is renewing the TikTok access token and has not finished; the bridge retried but could not deliver in time. Send the message again in a few minutes.',
          { reason: 'ServerError' },
        );
      }
    }
  }

  /**
   * `POST {apiBaseUrl}/tt_user/oauth2/refresh_token/` JSON `{client_id, client_secret, grant_type, refresh_token}`,
   * without Access-Token; HTTP 200 `{code, message, request_id, data:{access_token, expires_in, refresh_token,
   * refresh_token_expires_in, open_id}}` (key fact 5). Called only while holding the lock.
   */
  private async callRefresh(record: TikTokTokenRecord): Promise<string> {
    const url = `${this.connection.apiBaseUrl.replace(/\/+$/, '')}/tt_user/oauth2/refresh_token/`;
    const body = JSON.stringify({
      client_id: this.connection.appId,
      client_secret: this.connection.appSecret,
      grant_type: 'refresh_token',
      refresh_token: record.refreshToken,
    });
    let response: HttpResponse;
    let bodyText: string;
    try {
      ({ response, bodyText } = await this.http(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body }, this.timeoutMs));
    } catch (err) {
      const { error, statusLabel } = classifyTikTokFetchError(err, this.timeoutMs);
      this.count(statusLabel);
      this.logger.warn({ connectionId: this.connectionId, status: statusLabel }, 'tiktok.token_refresh_failed');
      throw error;
    }
    const envelope = tiktokApiEnvelopeOf(bodyText);
    this.count(envelope?.code !== undefined && envelope.code !== 0 ? `code_${envelope.code}` : String(response.status));
    const ref = `(TikTok error ${envelope?.code ?? `HTTP ${response.status}`}${envelope?.request_id ? `, request_id ${envelope.request_id}` : ''})`;
    const transient = response.status >= 500 || response.status === 408 || response.status === 429 || envelope?.code === 51065 || envelope?.code === 40100;
    if (transient || (envelope === undefined && response.ok)) {
      this.logger.warn({ connectionId: this.connectionId, status: response.status, code: envelope?.code, requestId: envelope?.request_id }, 'tiktok.token_refresh_failed');
      throw new RetryableError(`TikTok could not renew the bridge's access token for now; the bridge retried but could not deliver in time. Send the message again in a few minutes. ${ref}`, {
        reason: 'ServerError',
      });
    }
    const data = envelope?.code === 0 && response.ok ? tokenData(envelope.data) : undefined;
    if (!data) return this.requireReauthorization(record, envelope?.code, envelope?.request_id, ref);

    const now = this.clock();
    const next: TikTokTokenRecord = {
      accessToken: data.accessToken,
      expiresAt: now + data.expiresInSec * 1000,
      // Always the rotated one when TikTok sent it (key fact 5): the old refresh token may already be dead.
      refreshToken: data.refreshToken ?? record.refreshToken,
      ...(data.refreshExpiresInSec !== undefined ? { refreshExpiresAt: now + data.refreshExpiresInSec * 1000 } : record.refreshExpiresAt !== undefined ? { refreshExpiresAt: record.refreshExpiresAt } : {}),
      configFingerprint: record.configFingerprint,
      updatedAt: now,
    };
    await this.store.putRecord(TIKTOK_TOKEN_NAMESPACE, this.connectionId, next, now + RECORD_TTL_MS);
    this.reported = false;
    if (data.openId !== undefined && data.openId !== this.connection.businessId) {
      this.logger.warn({ connectionId: this.connectionId }, 'tiktok.token_for_other_business');
    }
    this.logger.info({ connectionId: this.connectionId, expiresAt: next.expiresAt, rotated: data.refreshToken !== undefined && data.refreshToken !== record.refreshToken }, 'tiktok.token_refreshed');
    return next.accessToken;
  }

  private async requireReauthorization(record: TikTokTokenRecord, code: number | undefined, requestId: string | undefined, ref: string): Promise<never> {
    await this.store.putRecord(
      TIKTOK_TOKEN_NAMESPACE,
      this.connectionId,
      { ...record, reauthorizationRequired: true, updatedAt: this.clock() } satisfies TikTokTokenRecord,
      this.clock() + RECORD_TTL_MS,
    );
    this.report(code, requestId);
    throw new PermanentError(`${reauthorizeSentence()} ${ref}`, { reason: 'GeneralError' });
  }

  private failIfReauthorizationRequired(record: TikTokTokenRecord): void {
    if (!record.reauthorizationRequired) return;
    this.report(undefined, undefined);
    throw new PermanentError(reauthorizeSentence(), { reason: 'GeneralError' });
  }

  /** Logged once per instance and state change; the hook is the place for metrics and alerts. */
  private report(code: number | undefined, requestId: string | undefined): void {
    if (this.reported) return;
    this.reported = true;
    this.logger.error({ connectionId: this.connectionId, code, requestId }, 'tiktok.reauthorization_required');
    try {
      this.onReauthorizationRequired?.(this.connectionId);
    } catch (err) {
      this.logger.warn({ err, connectionId: this.connectionId }, 'tiktok.reauthorization_hook_failed');
    }
  }

  private count(status: string): void {
    this.metrics?.outboundRequests.inc({ target: 'tiktok', operation: 'token_refresh', status });
  }
}

/** Identifies the configured tokens without revealing them: a record seeded from other tokens has another one. */
export function tiktokConfigFingerprint(connection: Pick<TikTokConnection, 'accessToken' | 'refreshToken'>): string {
  return createHash('sha256').update(`${connection.accessToken}\n${connection.refreshToken}`).digest('hex').slice(0, 16);
}

function reauthorizeSentence(): string {
  return (
    "TikTok no longer accepts the bridge's access token for this account and refused to renew it; an administrator " +
    `must re-authorize the TikTok account for dmbridge and update the connection's tokens; ${NOT_SENT}`
  );
}

function tokenData(data: unknown): { accessToken: string; expiresInSec: number; refreshToken?: string; refreshExpiresInSec?: number; openId?: string } | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const d = data as Record<string, unknown>;
  if (typeof d.access_token !== 'string' || d.access_token === '') return undefined;
  const positive = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : undefined);
  return {
    accessToken: d.access_token,
    // TikTok documents 86400 s; when absent assume it, so the next refresh comes in time.
    expiresInSec: positive(d.expires_in) ?? 86_400,
    ...(typeof d.refresh_token === 'string' && d.refresh_token !== '' ? { refreshToken: d.refresh_token } : {}),
    ...(positive(d.refresh_token_expires_in) !== undefined ? { refreshExpiresInSec: positive(d.refresh_token_expires_in)! } : {}),
    ...(typeof d.open_id === 'string' && d.open_id !== '' ? { openId: d.open_id } : {}),
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
