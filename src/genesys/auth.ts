/**
 * Client-credentials token for Genesys Cloud, cached and shared.
 * `POST {login}/oauth/token`, `Authorization: Basic base64(id:secret)`, form `grant_type=client_credentials`
 * → `{access_token, token_type, expires_in}`; there is no refresh token, so a new one is requested before
 * expiry (genesys-open-messaging.md key fact 3, https://github.com/MyPureCloud/platform-client-sdk-javascript).
 */
import { z } from 'zod';
import type { GenesysConfig } from './config.js';
import { PermanentError, RetryableError } from '../core/errors.js';
import { silentLogger, type Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { httpCall, type HttpCall, type HttpResponse } from '../net/http.js';
import { classifyGenesysFetchError, classifyGenesysResponse } from './errors.js';

export interface GenesysTokenProviderOptions {
  config: Pick<GenesysConfig, 'loginBaseUrl' | 'clientId' | 'clientSecret' | 'timeoutMs'>;
  http?: HttpCall;
  /** Epoch ms; injected so tests can move time. */
  clock?: () => number;
  metrics?: Metrics;
  logger?: Logger;
}

/** Renew at 90 % of `expires_in`, leaving room for clock skew and slow requests. */
const RENEW_AT_FRACTION = 0.9;

const tokenResponse = z.object({
  access_token: z.string().min(1),
  expires_in: z.number().positive(),
});

interface CachedToken {
  value: string;
  renewAt: number;
}

export class GenesysTokenProvider {
  private readonly config: GenesysTokenProviderOptions['config'];
  private readonly http: HttpCall;
  private readonly clock: () => number;
  private readonly metrics: Metrics | undefined;
  private readonly logger: Logger;
  private cached: CachedToken | undefined;
  /** The one token request in flight; concurrent callers await it instead of starting their own. */
  private pending: Promise<CachedToken> | undefined;

  constructor(opts: GenesysTokenProviderOptions) {
    this.config = opts.config;
    this.http = opts.http ?? httpCall;
    this.clock = opts.clock ?? Date.now;
    this.metrics = opts.metrics;
    this.logger = opts.logger ?? silentLogger;
  }

  /** A valid bearer token; requests one only when none is cached or the cached one is due for renewal. */
  async getToken(): Promise<string> {
    if (this.cached && this.clock() < this.cached.renewAt) return this.cached.value;
    this.pending ??= this.requestToken().finally(() => {
      this.pending = undefined;
    });
    return (await this.pending).value;
  }

  /**
   * Drops the cached token after Genesys answered 401 with it. Passing the refused token makes this a
   * no-op when another caller already replaced it, so a burst of 401s costs one new token, not one each.
   */
  invalidate(refused?: string): void {
    if (refused === undefined || this.cached?.value === refused) this.cached = undefined;
  }

  private async requestToken(): Promise<CachedToken> {
    const { loginBaseUrl, clientId, clientSecret, timeoutMs } = this.config;
    const startedAt = this.clock();
    let response: HttpResponse;
    let bodyText: string;
    try {
      ({ response, bodyText } = await this.http(
        `${loginBaseUrl}/oauth/token`,
        {
          method: 'POST',
          headers: {
            authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`,
            'content-type': 'application/x-www-form-urlencoded',
            accept: 'application/json',
          },
          body: new URLSearchParams({ grant_type: 'client_credentials' }).toString(),
        },
        timeoutMs,
      ));
    } catch (err) {
      const { error, statusLabel } = classifyGenesysFetchError(err, 'token', timeoutMs);
      this.count(statusLabel);
      this.logger.warn({ clientId, status: statusLabel }, 'genesys.token_failed');
      throw error;
    }
    this.count(String(response.status));
    if (!response.ok) {
      this.logger.warn({ clientId, status: response.status }, 'genesys.token_failed');
      throw this.classify(response, bodyText);
    }
    const parsed = tokenResponse.safeParse(safeJson(bodyText));
    if (!parsed.success) {
      throw new RetryableError(`Genesys token response from ${loginBaseUrl} has no access_token/expires_in`);
    }
    const token = {
      value: parsed.data.access_token,
      renewAt: startedAt + parsed.data.expires_in * 1000 * RENEW_AT_FRACTION,
    };
    this.cached = token;
    this.logger.info({ clientId, expiresInSec: parsed.data.expires_in }, 'genesys.token_issued');
    return token;
  }

  /**
   * 408/429/5xx are Genesys-side and retryable like any other call. Any other 4xx means this client cannot
   * get a token (unknown client, wrong secret, wrong region): retrying will not help. The message names
   * the client id and host, never the secret.
   */
  private classify(response: HttpResponse, bodyText: string): RetryableError | PermanentError {
    const { status } = response;
    const ctx = { operation: 'token', clientId: this.config.clientId, now: this.clock() };
    if (status === 408 || status === 429 || status >= 500) {
      return classifyGenesysResponse(status, response.headers, bodyText, ctx);
    }
    const body = safeJson(bodyText) as { error?: unknown; error_description?: unknown } | undefined;
    const why = [body?.error, body?.error_description].filter((p) => typeof p === 'string').join(': ');
    return new PermanentError(
      `Genesys refused a token for OAuth client ${this.config.clientId} at ${this.config.loginBaseUrl} ` +
        `(HTTP ${status}${why ? ` ${why.slice(0, 300)}` : ''}); check genesys.clientId, genesys.clientSecret ` +
        `and genesys.region, and that the OAuth client uses the Client Credentials grant`,
    );
  }

  private count(status: string): void {
    this.metrics?.outboundRequests.inc({ target: 'genesys', operation: 'token', status });
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
