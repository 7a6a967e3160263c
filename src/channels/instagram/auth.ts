/**
 * The access token of an Instagram Login connection, shared by every bridge instance through the store. Instagram
 * user tokens live 60 days and can be renewed with `GET graph.instagram.com/refresh_access_token` once they are at
 * least 24 hours old and before they expire; the renewed token lives 60 days from then
 * (https://developers.facebook.com/documentation/instagram-platform/reference/refresh_access_token; key fact 33).
 * Facebook Login Page tokens do not expire this way and are used as configured (no TokenSource at all).
 *
 * The current token lives in the record `instagram-token/<connection id>`. When absent it is seeded from the
 * configuration with an unknown age and expiry, and renewing it is due at once: if Meta refuses because it is younger
 * than 24 hours, the next try comes a day later, when it cannot be. A renewed token is renewed again once half its
 * life is gone, which leaves 30 days for a failing renewal to be noticed (`dmbridge_access_token_expires_at_seconds`,
 * the log). One renewal at a time: single-flight in the process, a store lock across instances; an instance that
 * misses the lock keeps using the current token, which is still valid.
 *
 * Only a refusal that says the token itself is dead (code 190: expired, revoked) requires re-authorization: stored,
 * logged once at error level, `dmbridge_reauthorization_required` set, and every later call fails fast with a
 * sentence for the agent. Any other refusal (a token too young, a permission) or a transient failure keeps the
 * current token and tries again later. Never logs a token.
 */
import { createHash, createHmac, randomUUID } from 'node:crypto';
import { PermanentError } from '../../core/errors.js';
import type { Locks, Records } from '../../core/store.js';
import { silentLogger, type Logger } from '../../logger.js';
import type { Metrics } from '../../metrics.js';
import { httpCall, type HttpCall, type HttpResult } from '../../net/http.js';
import { graphBaseUrl, type InstagramConnection } from './config.js';
import { graphErrorOf } from './errors.js';
import { tokenStatus, type TokenStatus } from '../../core/doctor.js';

export const INSTAGRAM_TOKEN_NAMESPACE = 'instagram-token';

export interface InstagramTokenRecord {
  accessToken: string;
  /** Epoch ms; undefined while unknown (seeded from the configuration). */
  expiresAt?: number;
  /** Epoch ms from which a renewal is due. */
  refreshAt: number;
  reauthorizationRequired?: boolean;
  /** Hash of the configured token this record was seeded from (never the token itself). */
  configFingerprint: string;
  updatedAt: number;
}

/** What the Graph client asks for before every call, and tells when Meta refused the token (190). */
export interface TokenSource {
  getAccessToken(): Promise<string>;
  /** After a 190 for `token`: a usable token to try once more, or undefined. Throws once re-authorization is required. */
  rejected(token: string): Promise<string | undefined>;
}

const DAY_MS = 24 * 60 * 60_000;
/** Meta refuses to renew a token younger than this (reference above). */
const MIN_AGE_MS = DAY_MS;
const RETRY_TRANSIENT_MS = 60 * 60_000;
const WARN_WHEN_LEFT_MS = 7 * DAY_MS;
const LOCK_MS = 30_000;
const TIMEOUT_MS = 10_000;
const RECORD_TTL_MS = 10 * 365 * DAY_MS;
const NOT_SENT = 'the message was not sent.';

export class InstagramTokens implements TokenSource {
  private readonly connection: InstagramConnection;
  private readonly store: Records & Locks;
  private readonly http: HttpCall;
  private readonly clock: () => number;
  private readonly metrics: Metrics | undefined;
  private readonly logger: Logger;
  private readonly owner = `instagram-tokens:${randomUUID()}`;
  private readonly fingerprint: string;
  private inflight: Promise<InstagramTokenRecord> | undefined;
  private reported = false;

  constructor(opts: { connection: InstagramConnection; store: Records & Locks; http?: HttpCall; clock?: () => number; metrics?: Metrics; logger?: Logger }) {
    this.connection = opts.connection;
    this.store = opts.store;
    this.http = opts.http ?? httpCall;
    this.clock = opts.clock ?? Date.now;
    this.metrics = opts.metrics;
    this.logger = opts.logger ?? silentLogger;
    this.fingerprint = createHash('sha256').update(opts.connection.accessToken).digest('hex').slice(0, 16);
  }

  /** The current token; renewed first when a renewal is due (a failed renewal keeps the current one). */
  async getAccessToken(): Promise<string> {
    const record = await this.read();
    this.failIfReauthorizationRequired(record);
    if (this.clock() < record.refreshAt) return record.accessToken;
    const renewed = await this.renew(record.accessToken);
    this.failIfReauthorizationRequired(renewed);
    return renewed.accessToken;
  }

  async rejected(token: string): Promise<string | undefined> {
    const record = await this.read();
    this.failIfReauthorizationRequired(record);
    if (record.accessToken !== token) return record.accessToken;
    const renewed = await this.renew(token, { force: true });
    this.failIfReauthorizationRequired(renewed);
    return renewed.accessToken !== token ? renewed.accessToken : undefined;
  }

  /** What `dmbridge doctor` reports: the token in use and what the bridge knows of its expiry. Renews nothing. */
  async status(): Promise<TokenStatus> {
    return tokenStatus(await this.read());
  }

  /** Hourly upkeep: renews a due token even when the account is quiet, and warns while expiry is near. */
  async upkeep(): Promise<void> {
    const record = await this.read();
    if (record.reauthorizationRequired) return;
    const current = this.clock() >= record.refreshAt ? await this.renew(record.accessToken) : record;
    this.gauge(current);
    if (current.expiresAt !== undefined && current.expiresAt - this.clock() < WARN_WHEN_LEFT_MS) {
      this.logger.warn({ connectionId: this.connection.id, expiresAt: new Date(current.expiresAt).toISOString() }, 'instagram.token_expiring');
    }
  }

  private async read(): Promise<InstagramTokenRecord> {
    const stored = await this.store.getRecord<InstagramTokenRecord>(INSTAGRAM_TOKEN_NAMESPACE, this.connection.id);
    if (stored && !(stored.reauthorizationRequired && stored.configFingerprint !== this.fingerprint)) return stored;
    if (stored) {
      // The operator configured a new token after the old one died.
      this.reported = false;
      this.metrics?.reauthorizationRequired.set({ connection: this.connection.id }, 0);
    }
    // Seeded from the configuration: renewing it is due at once.
    return { accessToken: this.connection.accessToken, refreshAt: this.clock(), configFingerprint: this.fingerprint, updatedAt: this.clock() };
  }

  private renew(token: string, opts: { force?: boolean } = {}): Promise<InstagramTokenRecord> {
    this.inflight ??= this.renewOnce(token, opts.force === true).finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async renewOnce(token: string, force: boolean): Promise<InstagramTokenRecord> {
    const lock = `instagram-refresh:${this.connection.id}`;
    if (!(await this.store.acquireLock(lock, this.owner, this.clock() + LOCK_MS))) return this.read();
    try {
      const record = await this.read();
      // Another instance renewed it meanwhile, or it is already known to be dead.
      if (record.reauthorizationRequired || record.accessToken !== token || (!force && this.clock() < record.refreshAt)) return record;
      return await this.callRefresh(record);
    } finally {
      await this.store.releaseLock(lock, this.owner);
    }
  }

  /**
   * `GET {graph}/refresh_access_token?grant_type=ig_refresh_token&access_token=…` → `{access_token, token_type,
   * expires_in}` (seconds). Called only while holding the lock.
   */
  private async callRefresh(record: InstagramTokenRecord): Promise<InstagramTokenRecord> {
    const url = new URL(`${graphBaseUrl(this.connection)}/refresh_access_token`);
    url.searchParams.set('grant_type', 'ig_refresh_token');
    url.searchParams.set('access_token', record.accessToken);
    if (this.connection.appSecretProof) url.searchParams.set('appsecret_proof', appSecretProof(this.connection.appSecret, record.accessToken));
    let result: HttpResult;
    try {
      result = await this.http(url.href, { method: 'GET', headers: { accept: 'application/json' } }, TIMEOUT_MS);
    } catch {
      this.count('network');
      return this.later(record, RETRY_TRANSIENT_MS, 'instagram.token_refresh_failed', {});
    }
    const { response, bodyText } = result;
    this.count(String(response.status));
    const error = graphErrorOf(bodyText);
    const data = response.ok ? tokenData(bodyText) : undefined;
    if (data) return this.keep(record, data);
    const fields = { status: response.status, code: error?.code, subcode: error?.error_subcode, fbtraceId: error?.fbtrace_id };
    if (error?.code === 190) return this.requireReauthorization(record, fields);
    // Transient (5xx, rate limits, code 1/2), else refused for now (a token under 24 hours, a permission): try later.
    const transient = response.status >= 500 || response.status === 429 || error?.is_transient === true || [1, 2, 4, 17, 32, 613].includes(error?.code ?? 0);
    return this.later(record, transient ? RETRY_TRANSIENT_MS : MIN_AGE_MS, transient ? 'instagram.token_refresh_failed' : 'instagram.token_refresh_refused', fields);
  }

  private async keep(record: InstagramTokenRecord, data: { accessToken: string; expiresInMs: number }): Promise<InstagramTokenRecord> {
    const now = this.clock();
    const next: InstagramTokenRecord = {
      accessToken: data.accessToken,
      expiresAt: now + data.expiresInMs,
      refreshAt: now + Math.max(MIN_AGE_MS, data.expiresInMs / 2),
      configFingerprint: record.configFingerprint,
      updatedAt: now,
    };
    await this.store.putRecord(INSTAGRAM_TOKEN_NAMESPACE, this.connection.id, next, now + RECORD_TTL_MS);
    this.reported = false;
    this.gauge(next);
    this.metrics?.reauthorizationRequired.set({ connection: this.connection.id }, 0);
    this.logger.info({ connectionId: this.connection.id, expiresAt: new Date(next.expiresAt!).toISOString(), nextRefresh: new Date(next.refreshAt).toISOString() }, 'instagram.token_refreshed');
    return next;
  }

  private async later(record: InstagramTokenRecord, afterMs: number, msg: string, fields: Record<string, unknown>): Promise<InstagramTokenRecord> {
    const next = { ...record, refreshAt: this.clock() + afterMs, updatedAt: this.clock() };
    await this.store.putRecord(INSTAGRAM_TOKEN_NAMESPACE, this.connection.id, next, this.clock() + RECORD_TTL_MS);
    const expiresAt = record.expiresAt !== undefined ? new Date(record.expiresAt).toISOString() : 'unknown';
    this.logger.warn({ connectionId: this.connection.id, ...fields, expiresAt, retryAt: new Date(next.refreshAt).toISOString() }, msg);
    return next;
  }

  private async requireReauthorization(record: InstagramTokenRecord, fields: Record<string, unknown>): Promise<InstagramTokenRecord> {
    const next = { ...record, reauthorizationRequired: true, updatedAt: this.clock() };
    await this.store.putRecord(INSTAGRAM_TOKEN_NAMESPACE, this.connection.id, next, this.clock() + RECORD_TTL_MS);
    this.report(fields);
    return next;
  }

  private failIfReauthorizationRequired(record: InstagramTokenRecord): void {
    if (!record.reauthorizationRequired) return;
    this.report({});
    throw new PermanentError(
      "Instagram no longer accepts the bridge's access token for this account (it expired or was revoked); an administrator " +
        `must reconnect the account and put the new token in the connection's accessToken; ${NOT_SENT}`,
      { reason: 'GeneralError' },
    );
  }

  /** Logged once per instance and state change. */
  private report(fields: Record<string, unknown>): void {
    this.metrics?.reauthorizationRequired.set({ connection: this.connection.id }, 1);
    if (this.reported) return;
    this.reported = true;
    this.logger.error({ connectionId: this.connection.id, ...fields }, 'instagram.reauthorization_required');
  }

  private gauge(record: InstagramTokenRecord): void {
    if (record.expiresAt !== undefined) this.metrics?.accessTokenExpiresAt.set({ connection: this.connection.id }, Math.floor(record.expiresAt / 1000));
  }

  private count(status: string): void {
    this.metrics?.outboundRequests.inc({ target: 'instagram', operation: 'token_refresh', status });
  }
}

/** `appsecret_proof` = hex HMAC-SHA256 of the access token keyed with the app secret (https://developers.facebook.com/docs/graph-api/security). */
export function appSecretProof(appSecret: string, accessToken: string): string {
  return createHmac('sha256', appSecret).update(accessToken).digest('hex');
}

function tokenData(bodyText: string): { accessToken: string; expiresInMs: number } | undefined {
  let body: unknown;
  try {
    body = JSON.parse(bodyText);
  } catch {
    return undefined;
  }
  const b = (body ?? {}) as { access_token?: unknown; expires_in?: unknown };
  if (typeof b.access_token !== 'string' || b.access_token === '') return undefined;
  const expiresIn = typeof b.expires_in === 'number' && Number.isFinite(b.expires_in) && b.expires_in > 0 ? b.expires_in : 60 * 86_400;
  return { accessToken: b.access_token, expiresInMs: expiresIn * 1000 };
}
