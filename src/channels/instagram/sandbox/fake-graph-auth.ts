/**
 * The fake Graph API's access tokens, as Meta treats them: each token has an issue time and an expiry; an expired or
 * unknown one is refused with 190; with "Require App Secret" every call needs the right `appsecret_proof`
 * (https://developers.facebook.com/docs/graph-api/security#appsecret_proof); and an Instagram Login token is renewed
 * by `GET /refresh_access_token` only when it is at least 24 hours old and not expired, for 60 days from then
 * (https://developers.facebook.com/documentation/instagram-platform/reference/refresh_access_token).
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { Context } from 'hono';

export interface FakeGraphTokenOptions {
  /** The token the connection starts with. */
  accessToken: string;
  /** When it was issued (epoch ms, fake time); default: when the fake started. */
  tokenIssuedAt?: number;
  /** How long tokens live; Instagram Login user tokens live 60 days. */
  tokenLifetimeMs?: number;
  /** `facebook`: a Page token on graph.facebook.com, which has no refresh_access_token. */
  login?: 'instagram' | 'facebook';
  /** The app has "Require App Secret" on: every call needs `appsecret_proof` made with this secret. */
  requireAppSecretProof?: string;
  /** The fake's time (epoch ms); default the wall clock. */
  clock?: () => number;
}

export interface GraphError {
  message: string;
  type: string;
  code: number;
  error_subcode?: number;
}

export interface FakeGraphRefresh {
  ok: boolean;
  /** The token presented. */
  token: string;
  /** The token issued, when it succeeded. */
  issued?: string;
  at: number;
}

const DAY_MS = 24 * 60 * 60_000;
const LIFETIME_MS = 60 * DAY_MS;

/** Meta's answer to a missing or unknown token. */
export const INVALID_TOKEN: GraphError = { message: 'Invalid OAuth access token - Cannot parse access token', type: 'OAuthException', code: 190 };

export class FakeGraphTokens {
  readonly refreshes: FakeGraphRefresh[] = [];
  private readonly tokens = new Map<string, { issuedAt: number; expiresAt: number }>();
  private latest: string;
  private readonly clock: () => number;
  private readonly lifetimeMs: number;

  constructor(private readonly opts: FakeGraphTokenOptions) {
    this.clock = opts.clock ?? Date.now;
    this.lifetimeMs = opts.tokenLifetimeMs ?? LIFETIME_MS;
    const issuedAt = opts.tokenIssuedAt ?? this.clock();
    this.tokens.set(opts.accessToken, { issuedAt, expiresAt: issuedAt + this.lifetimeMs });
    this.latest = opts.accessToken;
  }

  /** The most recently issued token. */
  current(): string {
    return this.latest;
  }

  /** Every token issued so far stops working, as if revoked (the user changed their password). */
  revokeAll(): void {
    this.tokens.clear();
  }

  /** The Graph error for this request's credentials, or undefined when they are good. */
  problem(c: Context): GraphError | undefined {
    const token = tokenOf(c);
    const known = token === undefined ? undefined : this.tokens.get(token);
    if (token === undefined || !known) return INVALID_TOKEN;
    if (known.expiresAt <= this.clock()) {
      const when = new Date(known.expiresAt).toUTCString();
      return { message: `Error validating access token: Session has expired on ${when}.`, type: 'OAuthException', code: 190, error_subcode: 463 };
    }
    return this.proofProblem(c, token);
  }

  /** `GET /refresh_access_token?grant_type=ig_refresh_token&access_token=…` (no version in the path). */
  refresh(c: Context): { status: number; body: unknown } {
    const token = c.req.query('access_token') ?? '';
    const refuse = (error: GraphError) => {
      this.refreshes.push({ ok: false, token, at: this.clock() });
      return { status: 400, body: { error: { ...error, fbtrace_id: randomBytes(8).toString('base64url') } } };
    };
    if (this.opts.login === 'facebook') return refuse({ message: 'Unknown path components: /refresh_access_token', type: 'OAuthException', code: 2500 });
    if (c.req.query('grant_type') !== 'ig_refresh_token') return refuse({ message: 'Unsupported grant_type', type: 'IGApiException', code: 100 });
    const problem = this.problem(c);
    if (problem) return refuse(problem);
    const known = this.tokens.get(token)!;
    // What Meta answers for a token under 24 hours is UNCONFIRMED; the bridge must not rely on its wording.
    if (this.clock() - known.issuedAt < DAY_MS) return refuse({ message: '(#100) The access token must be at least 24 hours old to be refreshed', type: 'IGApiException', code: 100 });
    const issued = `IGQW${randomBytes(18).toString('base64url')}`;
    const now = this.clock();
    this.tokens.set(issued, { issuedAt: now, expiresAt: now + this.lifetimeMs });
    this.latest = issued;
    this.refreshes.push({ ok: true, token, issued, at: now });
    return { status: 200, body: { access_token: issued, token_type: 'bearer', expires_in: Math.floor(this.lifetimeMs / 1000) } };
  }

  private proofProblem(c: Context, token: string): GraphError | undefined {
    const secret = this.opts.requireAppSecretProof;
    if (secret === undefined) return undefined;
    const proof = c.req.query('appsecret_proof');
    if (proof === undefined) return { message: 'API calls from the server require an appsecret_proof argument', type: 'GraphMethodException', code: 100 };
    const expected = createHmac('sha256', secret).update(token).digest('hex');
    return proof === expected ? undefined : { message: 'Invalid appsecret_proof provided in the API argument', type: 'GraphMethodException', code: 100 };
  }
}

/** `Authorization: Bearer <token>` or `?access_token=` (https://developers.facebook.com/docs/instagram-platform/overview). */
function tokenOf(c: Context): string | undefined {
  const header = c.req.header('authorization');
  return header?.startsWith('Bearer ') ? header.slice(7) : c.req.query('access_token');
}
