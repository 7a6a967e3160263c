/**
 * The authorization of one TikTok Shop connection, shared by every bridge instance through the store's records and
 * locks: the access token (7 days) and its refresh, and the shop's `shop_cipher`.
 *
 * Tokens (tiktok-shop.md key fact 6, https://partner.tiktokshop.com/docv2/page/678e3a3292b0f40314a92d75): refresh at
 * `GET {authBaseUrl}/api/v2/token/refresh?app_key&app_secret&refresh_token&grant_type=refresh_token` (unsigned);
 * `*_expire_in` are absolute Unix timestamps. Whether the refresh token rotates is UNCONFIRMED, so whatever comes back
 * is persisted, under a lock: exactly one refresh at a time per connection (single-flight in the process, the lock
 * `tiktok-shop-refresh:<id>` across instances), its result stored before use. The record `tiktok-shop-token/<id>` is
 * seeded from the configuration when absent (expiry unknown: used until TikTok answers 105002); a stored record wins
 * over the configuration, except once re-authorization is required and different tokens were configured.
 *
 * A refused refresh (the refresh token expired with the authorization period, the seller revoked the app) puts the
 * connection in "re-authorization required": stored, logged once at error, the `dmbridge_reauthorization_required`
 * gauge set to 1, and every call fails fast with a sentence for the agent. Never logs a token or the app secret (the
 * refresh URL carries it: URLs are never logged).
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Clock } from '../../core/clock.js';
import { PermanentError, RetryableError } from '../../core/errors.js';
import type { Locks, Records } from '../../core/store.js';
import { silentLogger, type Logger } from '../../logger.js';
import type { Metrics } from '../../metrics.js';
import { httpCall, type HttpCall, type HttpResult } from '../../net/http.js';
import type { TikTokShopConnection } from './config.js';
import { classifyTikTokShopFetchError } from './errors.js';
import { tokenStatus, type TokenStatus } from '../../core/doctor.js';
import { tiktokApiEnvelopeOf } from '../tiktok-envelope.js';

export const TTS_TOKEN_NAMESPACE = 'tiktok-shop-token';
export const TTS_SHOP_NAMESPACE = 'tiktok-shop-shop';

export interface TikTokShopTokenRecord {
  accessToken: string;
  /** Epoch ms; undefined when unknown (seeded from config). */
  expiresAt?: number;
  refreshToken: string;
  refreshExpiresAt?: number;
  reauthorizationRequired?: boolean;
  /** Hash of the configured tokens this record was seeded from (never the tokens themselves). */
  configFingerprint: string;
  updatedAt: number;
}

export interface TikTokShopAuthOptions {
  connection: TikTokShopConnection;
  store: Records & Locks;
  http?: HttpCall;
  /** Use the store's clock: the lock's expiry is compared with it. */
  clock?: Clock;
  /** Identifies this instance as the lock owner. */
  owner?: string;
  /** How long a caller waits for another instance's refresh before giving up (retryable). */
  lockWaitMs?: number;
  metrics?: Metrics;
  logger?: Logger;
}

/** Renew a day ahead: a 7-day token leaves room for transient refresh failures. */
export const TTS_REFRESH_MARGIN_MS = 24 * 60 * 60_000;
const LOCK_MS = 30_000;
const LOCK_POLL_MS = 50;
/** The record must outlive any refresh token; an expired record would reseed stale configured tokens. */
const RECORD_TTL_MS = 10 * 365 * 24 * 60 * 60_000;
/** Codes of a refresh that failed for now, not for good (reference §3 Errors). */
const TRANSIENT_CODES = new Set([36009002, 36009003, 36009007]);

export const TTS_REAUTHORIZE =
  "TikTok Shop no longer accepts the bridge's authorization for this shop and refused to renew it; the seller must " +
  "authorize the app again (Partner Center authorization link) and the connection's tokens be updated; the message was not sent.";

export class TikTokShopTokens {
  private readonly connection: TikTokShopConnection;
  private readonly store: Records & Locks;
  private readonly http: HttpCall;
  private readonly clock: Clock;
  private readonly owner: string;
  private readonly lockWaitMs: number;
  private readonly metrics: Metrics | undefined;
  private readonly logger: Logger;
  private readonly fingerprint: string;
  private inflight: Promise<string> | undefined;
  private reported = false;

  constructor(opts: TikTokShopAuthOptions) {
    this.connection = opts.connection;
    this.store = opts.store;
    this.http = opts.http ?? httpCall;
    this.clock = opts.clock ?? Date.now;
    this.owner = opts.owner ?? `tiktok-shop-tokens:${randomUUID()}`;
    this.lockWaitMs = opts.lockWaitMs ?? 10_000;
    this.metrics = opts.metrics;
    this.logger = opts.logger ?? silentLogger;
    this.fingerprint = tiktokShopConfigFingerprint(opts.connection);
  }

  /** A usable access token: renewed first when less than a day remains. */
  async getAccessToken(): Promise<string> {
    const record = await this.read();
    this.failIfReauthorizationRequired(record);
    return this.expiring(record) ? this.refresh({ rejected: record.accessToken }) : record.accessToken;
  }

  /**
   * Renews the access token, unless another caller already replaced `rejected` (the token TikTok refused or that is
   * about to expire) with a usable one — then that one is returned without another refresh.
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

  async reauthorizationRequired(): Promise<boolean> {
    return (await this.read()).reauthorizationRequired === true;
  }

  private async read(): Promise<TikTokShopTokenRecord> {
    const stored = await this.store.getRecord<TikTokShopTokenRecord>(TTS_TOKEN_NAMESPACE, this.connection.id);
    if (stored && !(stored.reauthorizationRequired && stored.configFingerprint !== this.fingerprint)) return stored;
    return { accessToken: this.connection.accessToken, refreshToken: this.connection.refreshToken, configFingerprint: this.fingerprint, updatedAt: this.clock() };
  }

  private expiring(record: TikTokShopTokenRecord): boolean {
    return record.expiresAt !== undefined && record.expiresAt - this.clock() < TTS_REFRESH_MARGIN_MS;
  }

  private replaced(record: TikTokShopTokenRecord, rejected: string): boolean {
    return record.accessToken !== rejected && !this.expiring(record) && !record.reauthorizationRequired;
  }

  private async refreshOnce(rejected: string | undefined): Promise<string> {
    const lock = `tiktok-shop-refresh:${this.connection.id}`;
    const deadline = this.clock() + this.lockWaitMs;
    const stale = rejected ?? (await this.read()).accessToken;
    for (;;) {
      if (await this.store.acquireLock(lock, this.owner, this.clock() + LOCK_MS)) {
        try {
          const record = await this.read();
          this.failIfReauthorizationRequired(record);
          if (this.replaced(record, stale)) return record.accessToken;
          return await this.callRefresh(record);
        } finally {
          await this.store.releaseLock(lock, this.owner);
        }
      }
      // Another instance is refreshing: wait briefly and re-read what it stored.
      await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
      const record = await this.read();
      this.failIfReauthorizationRequired(record);
      if (this.replaced(record, stale)) return record.accessToken;
      if (this.clock() > deadline) {
        throw new RetryableError('Another dmbridge instance is renewing the TikTok Shop access token and has not finished; send the message again in a few minutes.', { reason: 'ServerError' });
      }
    }
  }

  /** Called only while holding the lock. */
  private async callRefresh(record: TikTokShopTokenRecord): Promise<string> {
    const url = new URL(`${this.connection.authBaseUrl.replace(/\/+$/, '')}/api/v2/token/refresh`);
    url.search = new URLSearchParams({ app_key: this.connection.appKey, app_secret: this.connection.appSecret, refresh_token: record.refreshToken, grant_type: 'refresh_token' }).toString();
    let result: HttpResult;
    try {
      result = await this.http(url.toString(), { method: 'GET', headers: { accept: 'application/json' } }, this.connection.timeoutMs);
    } catch (err) {
      const { error, statusLabel } = classifyTikTokShopFetchError(err, this.connection.timeoutMs);
      this.count(statusLabel);
      this.logger.warn({ connectionId: this.connection.id, status: statusLabel }, 'tiktok_shop.token_refresh_failed');
      throw error;
    }
    const { response, bodyText } = result;
    const envelope = tiktokApiEnvelopeOf(bodyText);
    const code = envelope?.code;
    this.count(code !== undefined && code !== 0 ? `code_${code}` : String(response.status));
    const ref = `(TikTok Shop error ${code ?? `HTTP ${response.status}`}${envelope?.request_id ? `, request_id ${envelope.request_id}` : ''})`;
    const transient = response.status >= 500 || response.status === 408 || response.status === 429 || (code !== undefined && TRANSIENT_CODES.has(code)) || (envelope === undefined && response.ok);
    if (transient) {
      this.logger.warn({ connectionId: this.connection.id, status: response.status, code, requestId: envelope?.request_id }, 'tiktok_shop.token_refresh_failed');
      throw new RetryableError(`TikTok Shop could not renew the bridge's access token for now; send the message again in a few minutes. ${ref}`, { reason: 'ServerError' });
    }
    const data = code === 0 && response.ok ? tokenData(envelope?.data, this.clock()) : undefined;
    if (!data) return this.requireReauthorization(record, code, envelope?.request_id, ref);
    const now = this.clock();
    const next: TikTokShopTokenRecord = {
      accessToken: data.accessToken,
      expiresAt: data.expiresAt,
      // Whatever came back: if the refresh token rotated, the old one may already be dead.
      refreshToken: data.refreshToken ?? record.refreshToken,
      ...((data.refreshExpiresAt ?? record.refreshExpiresAt) !== undefined ? { refreshExpiresAt: (data.refreshExpiresAt ?? record.refreshExpiresAt)! } : {}),
      configFingerprint: record.configFingerprint,
      updatedAt: now,
    };
    await this.store.putRecord(TTS_TOKEN_NAMESPACE, this.connection.id, next, now + RECORD_TTL_MS);
    this.reported = false;
    this.metrics?.reauthorizationRequired.set({ connection: this.connection.id }, 0);
    this.logger.info({ connectionId: this.connection.id, expiresAt: next.expiresAt, rotated: data.refreshToken !== undefined && data.refreshToken !== record.refreshToken }, 'tiktok_shop.token_refreshed');
    return next.accessToken;
  }

  private async requireReauthorization(record: TikTokShopTokenRecord, code: number | undefined, requestId: string | undefined, ref: string): Promise<never> {
    const now = this.clock();
    await this.store.putRecord(TTS_TOKEN_NAMESPACE, this.connection.id, { ...record, reauthorizationRequired: true, updatedAt: now } satisfies TikTokShopTokenRecord, now + RECORD_TTL_MS);
    this.report(code, requestId);
    throw new PermanentError(`${TTS_REAUTHORIZE} ${ref}`, { reason: 'GeneralError' });
  }

  private failIfReauthorizationRequired(record: TikTokShopTokenRecord): void {
    if (!record.reauthorizationRequired) return;
    this.report(undefined, undefined);
    throw new PermanentError(TTS_REAUTHORIZE, { reason: 'GeneralError' });
  }

  /** Logged once per instance and state change; the gauge is what alerting watches. */
  private report(code: number | undefined, requestId: string | undefined): void {
    this.metrics?.reauthorizationRequired.set({ connection: this.connection.id }, 1);
    if (this.reported) return;
    this.reported = true;
    this.logger.error({ connectionId: this.connection.id, code, requestId }, 'tiktok_shop.reauthorization_required');
  }

  private count(status: string): void {
    this.metrics?.outboundRequests.inc({ target: 'tiktok-shop', operation: 'token_refresh', status });
  }
}

/** Identifies the configured tokens without revealing them. */
export function tiktokShopConfigFingerprint(connection: Pick<TikTokShopConnection, 'accessToken' | 'refreshToken'>): string {
  return createHash('sha256').update(`${connection.accessToken}\n${connection.refreshToken}`).digest('hex').slice(0, 16);
}

/** `*_expire_in` are absolute Unix seconds (key fact 6); a small number is read as seconds from now, defensively. */
function tokenData(data: unknown, now: number): { accessToken: string; expiresAt: number; refreshToken?: string; refreshExpiresAt?: number } | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const d = data as Record<string, unknown>;
  if (typeof d.access_token !== 'string' || d.access_token === '') return undefined;
  const at = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? (v > 1e9 ? v * 1000 : now + v * 1000) : undefined);
  const refreshExpiresAt = at(d.refresh_token_expire_in);
  return {
    accessToken: d.access_token,
    // Unknown expiry: assume the documented 7 days, so the next refresh comes in time.
    expiresAt: at(d.access_token_expire_in) ?? now + 7 * 24 * 60 * 60_000,
    ...(typeof d.refresh_token === 'string' && d.refresh_token !== '' ? { refreshToken: d.refresh_token } : {}),
    ...(refreshExpiresAt !== undefined ? { refreshExpiresAt } : {}),
  };
}

// ---- the shop cipher ---------------------------------------------------------------------------------------------

/** What the bridge keeps of the shop, from `GET /authorization/202309/shops` (key fact 7). */
export interface TikTokShopRecord {
  /** `shop_cipher` of every shop-scoped call. */
  cipher: string;
  /** The shop's market, e.g. `GB`, `ID` (Indonesian image links need the token, reference key fact 21). */
  region?: string;
  name?: string;
}

/** A shop seen in the authorized-shops answer. */
export interface AuthorizedShop {
  id?: unknown;
  cipher?: unknown;
  region?: unknown;
  name?: unknown;
}

/** Kept for a week; a call refused with 106013 forgets it at once. */
const SHOP_RECORD_MS = 7 * 24 * 60 * 60_000;

/**
 * The shop's cipher, from the record `tiktok-shop-shop/<id>` or else from the authorized-shops call (`fetchShops`,
 * which the API client makes). Single-flight in the process; a second instance doing the same lookup is harmless.
 */
/**
 * How long an instance keeps the shop record in memory between store reads: a reply makes several API calls, each
 * needing the cipher. A cipher another instance forgot is then used here until this expires or TikTok refuses it.
 */
const SHOP_MEMORY_MS = 5 * 60_000;

export class TikTokShopCipher {
  private inflight: Promise<TikTokShopRecord> | undefined;
  private remembered: { record: TikTokShopRecord; until: number } | undefined;

  constructor(
    private readonly deps: {
      connection: TikTokShopConnection;
      store: Records;
      fetchShops: () => Promise<readonly AuthorizedShop[]>;
      clock?: Clock;
      logger?: Logger;
    },
  ) {}

  async get(): Promise<TikTokShopRecord> {
    const now = this.now();
    if (this.remembered && now < this.remembered.until) return this.remembered.record;
    const stored = await this.deps.store.getRecord<TikTokShopRecord>(TTS_SHOP_NAMESPACE, this.deps.connection.id);
    if (stored) return this.remember(stored, now);
    this.inflight ??= this.lookup().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  /** TikTok refused the cipher (106013): look it up again on the next call. */
  async forget(): Promise<void> {
    this.remembered = undefined;
    await this.deps.store.putRecord(TTS_SHOP_NAMESPACE, this.deps.connection.id, null, this.now());
  }

  private remember(record: TikTokShopRecord, now: number): TikTokShopRecord {
    this.remembered = { record, until: now + SHOP_MEMORY_MS };
    return record;
  }

  private now(): number {
    return (this.deps.clock ?? Date.now)();
  }

  private async lookup(): Promise<TikTokShopRecord> {
    const { connection } = this.deps;
    const shops = await this.deps.fetchShops();
    const shop = shops.find((s) => String(s.id) === connection.shopId);
    if (!shop || typeof shop.cipher !== 'string' || shop.cipher === '') {
      (this.deps.logger ?? silentLogger).error({ connectionId: connection.id, shops: shops.length }, 'tiktok_shop.shop_not_authorized');
      throw new PermanentError(
        `The bridge's TikTok Shop authorization does not include shop ${connection.shopId} (it covers ${shops.length} other shop(s)); ` +
          "an administrator must check the connection's shopId or have the seller authorize the app for this shop; the message was not sent.",
        { reason: 'GeneralError' },
      );
    }
    const record: TikTokShopRecord = {
      cipher: shop.cipher,
      ...(typeof shop.region === 'string' ? { region: shop.region } : {}),
      ...(typeof shop.name === 'string' ? { name: shop.name } : {}),
    };
    const now = this.now();
    await this.deps.store.putRecord(TTS_SHOP_NAMESPACE, connection.id, record, now + SHOP_RECORD_MS);
    return this.remember(record, now);
  }
}
