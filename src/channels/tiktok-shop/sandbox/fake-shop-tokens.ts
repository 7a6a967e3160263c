/**
 * The fake TikTok Shop's authorization host: the access tokens it issued (and until when each works) and the token
 * refresh `GET /api/v2/token/refresh` (unsigned; key fact 6, https://partner.tiktokshop.com/docv2/page/678e3a3292b0f40314a92d75):
 * absolute `*_expire_in` timestamps, and a new refresh token each time unless rotation is off (whether the real one
 * rotates is UNCONFIRMED: rotating is the harder case for the bridge).
 */
import { randomUUID } from 'node:crypto';
import type { Hono } from 'hono';
import type { FakeShopGate } from './fake-shop-gate.js';

export interface FakeRefresh {
  refreshToken: string;
  ok: boolean;
  accessToken?: string;
  newRefreshToken?: string;
}

export interface FakeTokenOptions {
  appKey: string;
  appSecret: string;
  accessToken: string;
  refreshToken: string;
  /** Lifetime of refreshed access tokens, seconds (default 7 days). */
  accessTokenTtlSec?: number;
  rotateRefreshToken?: boolean;
  /** `seller_base_region` of the token answer. */
  region: string;
}

export class FakeTokens {
  readonly refreshes: FakeRefresh[] = [];
  private readonly expiries: Map<string, number>;
  private refreshToken: string;
  private latestAccess: string;
  private issued = 0;

  constructor(
    private readonly opts: FakeTokenOptions,
    private readonly now: () => number,
  ) {
    this.expiries = new Map([[opts.accessToken, Infinity]]);
    this.refreshToken = opts.refreshToken;
    this.latestAccess = opts.accessToken;
  }

  /** A token this fake issued that has not expired on its clock. */
  accepts(token: string | undefined): boolean {
    const expiry = this.expiries.get(token ?? '');
    return expiry !== undefined && expiry > this.now();
  }

  /** Every access token issued so far stops working, as if it expired. */
  expireAll(): void {
    for (const token of this.expiries.keys()) this.expiries.set(token, 0);
  }

  current(): { accessToken: string; refreshToken: string } {
    return { accessToken: this.latestAccess, refreshToken: this.refreshToken };
  }

  /** The refresh route, through `gate` for injected failures and the call log. */
  route(web: Hono, gate: FakeShopGate): void {
    web.get('/api/v2/token/refresh', (c) => {
      const q = new URL(c.req.url).searchParams;
      const failure = gate.injected(c, 'refresh');
      if (failure) return failure;
      const presented = q.get('refresh_token') ?? '';
      const refuse = (code: number, message: string) => {
        this.refreshes.push({ refreshToken: presented, ok: false });
        return gate.envelope(c, code, message, null);
      };
      if (q.get('app_key') !== this.opts.appKey || q.get('app_secret') !== this.opts.appSecret) return refuse(36009004, 'Invalid app_key or app_secret.');
      if (q.get('grant_type') !== 'refresh_token') return refuse(36009004, 'grant_type must be refresh_token.');
      if (presented !== this.refreshToken) return refuse(105003, 'The refresh token is invalid or expired.');
      this.issued++;
      const access = `TTP_fake${this.issued}${randomUUID().slice(0, 8)}`;
      const seconds = Math.floor(this.now() / 1000);
      const ttl = this.opts.accessTokenTtlSec ?? 7 * 86_400;
      this.expiries.set(access, (seconds + ttl) * 1000);
      this.latestAccess = access;
      if (this.opts.rotateRefreshToken ?? true) this.refreshToken = `TTP_refresh${this.issued}${randomUUID().slice(0, 8)}`;
      this.refreshes.push({ refreshToken: presented, ok: true, accessToken: access, newRefreshToken: this.refreshToken });
      return gate.envelope(c, 0, 'success', {
        access_token: access,
        access_token_expire_in: seconds + ttl,
        refresh_token: this.refreshToken,
        refresh_token_expire_in: seconds + 365 * 86_400,
        open_id: '7010736057180325637',
        seller_name: 'Acme Test Shop',
        seller_base_region: this.opts.region,
        user_type: 0,
      });
    });
  }
}
