/**
 * The bridge → Instagram Graph API calls of one connection: the Send API (messages and typing) and the profile
 * read (instagram-messaging.md §4, §7). Every failure is thrown as RetryableError or PermanentError (./errors.ts);
 * the caller decides what to do. Never logs the token or message text.
 */
import { graphBaseUrl, instagramLogin, type InstagramConnection } from './config.js';
import { silentLogger, type Logger } from '../../logger.js';
import type { Metrics } from '../../metrics.js';
import { httpCall, type HttpCall, type HttpRequestInit, type HttpResponse, type HttpResult } from '../../net/http.js';
import { appSecretProof, type TokenSource } from './auth.js';
import { classifyGraphError, classifyGraphFetchError, graphErrorOf, graphUsagePause, GraphConfigurationError } from './errors.js';
import type { GraphSendBody, TypingBody } from './send.js';

export interface GraphClientOptions {
  connection: InstagramConnection;
  /** Where the current token comes from (Instagram Login: renewed, ./auth.ts); the configured one when absent. */
  tokens?: TokenSource;
  http?: HttpCall;
  /** Per Send API call. Keep it well under the queue's lease (queue.leaseMs). */
  timeoutMs?: number;
  /** Per profile read: short, a profile is never worth waiting for. */
  profileTimeoutMs?: number;
  /** Epoch ms. */
  clock?: () => number;
  metrics?: Metrics;
  logger?: Logger;
}

export interface GraphSendResult {
  /** The `mid` of the sent message; the echo webhook carries the same one (key fact 14). Absent for sender actions. */
  messageId?: string;
  /** Epoch ms until which the account should stop sending: Meta's usage headers say it is near its limit. */
  pauseUntil?: number;
}

/** Whom the token belongs to: the Instagram account (Instagram Login) or the Page (Facebook Login). */
export interface GraphTokenOwner {
  /** Instagram Login: `user_id`, the id webhooks carry; Facebook Login: the Page id. */
  id: string;
  name?: string;
}

export interface GraphProfile {
  name?: string;
  username?: string;
  pictureUrl?: string;
}

type Operation = 'send' | 'profile' | 'account' | 'subscriptions';

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_PROFILE_TIMEOUT_MS = 3_000;

export class GraphClient {
  private readonly connection: InstagramConnection;
  private readonly tokens: TokenSource | undefined;
  private readonly http: HttpCall;
  private readonly timeoutMs: number;
  private readonly profileTimeoutMs: number;
  private readonly clock: () => number;
  private readonly metrics: Metrics | undefined;
  private readonly logger: Logger;

  constructor(opts: GraphClientOptions) {
    this.connection = opts.connection;
    this.tokens = opts.tokens;
    this.http = opts.http ?? httpCall;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.profileTimeoutMs = opts.profileTimeoutMs ?? DEFAULT_PROFILE_TIMEOUT_MS;
    this.clock = opts.clock ?? Date.now;
    this.metrics = opts.metrics;
    this.logger = opts.logger ?? silentLogger;
  }

  /**
   * `POST /{version}/{sender}/messages` with `Authorization: Bearer` → `{recipient_id, message_id}`; sender actions
   * answer `{recipient_id}` only (§4.2). The sender is where Meta documents it for the connection's login: the
   * Instagram account with Instagram Login
   * (https://developers.facebook.com/docs/instagram-platform/instagram-api-with-instagram-login/messaging-api), the
   * Page (`/{pageId}`, or `/me` with the Page token) with Facebook Login
   * (https://developers.facebook.com/docs/messenger-platform/instagram/features/send-message; key facts 19, 20).
   * A timeout is retried like any network error, but Meta may have sent the message anyway.
   * `windowClosedAt` (epoch ms) lets a "window closed" refusal tell the agent when it closed.
   */
  async send(body: GraphSendBody | TypingBody, opts: { windowClosedAt?: number } = {}): Promise<GraphSendResult> {
    const { accountId } = this.connection;
    const url = `${this.versionUrl()}/${encodeURIComponent(this.sender())}/messages`;
    const init = (token: string): HttpRequestInit => ({ method: 'POST', headers: this.headers(token, { 'content-type': 'application/json' }), body: JSON.stringify(body) });
    const { response, bodyText } = await this.call('send', url, init, this.timeoutMs);
    if (!response.ok) throw this.failure('send', response, bodyText, opts.windowClosedAt);
    const messageId = stringField(parseJson(bodyText), 'message_id');
    const pauseUntil = graphUsagePause(response.headers, accountId, this.clock());
    this.logger.debug({ operation: 'send', accountId, status: response.status, messageId, pauseUntil }, 'instagram.request_ok');
    return { ...(messageId ? { messageId } : {}), ...(pauseUntil !== undefined ? { pauseUntil } : {}) };
  }

  /**
   * `GET /{version}/{igsid}?fields=name,username,profile_pic` (§7,
   * https://developers.facebook.com/docs/messenger-platform/instagram/features/user-profile). Works only once the
   * customer has messaged the account; throws on any failure — callers must never wait on it to deliver a message.
   */
  async getProfile(igsid: string): Promise<GraphProfile> {
    const url = `${this.versionUrl()}/${encodeURIComponent(igsid)}?fields=name,username,profile_pic`;
    const { response, bodyText } = await this.call('profile', url, (token) => ({ method: 'GET', headers: this.headers(token) }), this.profileTimeoutMs);
    if (!response.ok) throw this.failure('profile', response, bodyText);
    const body = parseJson(bodyText);
    const profile: GraphProfile = {};
    const name = stringField(body, 'name');
    const username = stringField(body, 'username');
    const pictureUrl = stringField(body, 'profile_pic');
    if (name) profile.name = name;
    if (username) profile.username = username;
    if (pictureUrl) profile.pictureUrl = pictureUrl;
    return profile;
  }

  /**
   * Whom the token belongs to. Instagram Login: `GET /me?fields=user_id,username`, whose `user_id` (not `id`) is the
   * account id webhooks carry (instagram-messaging.md §1); Facebook Login: `GET /me?fields=id,name` answers the Page
   * the token was issued for. For `dmbridge doctor`; throws like every call.
   */
  async tokenOwner(): Promise<GraphTokenOwner> {
    const instagram = instagramLogin(this.connection) === 'instagram';
    const url = `${this.versionUrl()}/me?fields=${instagram ? 'user_id,username' : 'id,name'}`;
    const { response, bodyText } = await this.call('account', url, (token) => ({ method: 'GET', headers: this.headers(token) }), this.timeoutMs);
    if (!response.ok) throw this.failure('account', response, bodyText);
    const body = parseJson(bodyText);
    const id = stringField(body, instagram ? 'user_id' : 'id') ?? '';
    const name = stringField(body, instagram ? 'username' : 'name');
    return { id, ...(name ? { name } : {}) };
  }

  /**
   * The webhook fields each app subscribed to this account answers: `GET /{ig-id}/subscribed_apps` with Instagram
   * Login, `GET /{page-id}/subscribed_apps` with Facebook Login (instagram-messaging.md §1, "Subscribe";
   * https://developers.facebook.com/docs/graph-api/reference/page/subscribed_apps). One list per app installed.
   */
  async subscribedFields(): Promise<string[][]> {
    const url = `${this.versionUrl()}/${encodeURIComponent(this.sender())}/subscribed_apps`;
    const { response, bodyText } = await this.call('subscriptions', url, (token) => ({ method: 'GET', headers: this.headers(token) }), this.timeoutMs);
    if (!response.ok) throw this.failure('subscriptions', response, bodyText);
    const data = (parseJson(bodyText) as { data?: unknown } | undefined)?.data;
    if (!Array.isArray(data)) return [];
    return data.map((app: { subscribed_fields?: unknown }) =>
      Array.isArray(app?.subscribed_fields) ? app.subscribed_fields.filter((f): f is string => typeof f === 'string') : [],
    );
  }

  private versionUrl(): string {
    return `${graphBaseUrl(this.connection)}/${this.connection.graphApiVersion}`;
  }

  private sender(): string {
    if (instagramLogin(this.connection) === 'instagram') return this.connection.accountId;
    return this.connection.pageId ?? 'me';
  }

  private headers(token: string, extra: Record<string, string> = {}): Record<string, string> {
    return { authorization: `Bearer ${token}`, accept: 'application/json', ...extra };
  }

  /**
   * One call with the current token (and its `appsecret_proof` when the connection sends one). A token Meta refuses
   * with 190 is handed back to the token source once: when it has a renewed one, the call is made again with it.
   */
  private async call(operation: Operation, url: string, init: (token: string) => HttpRequestInit, timeoutMs: number): Promise<HttpResult> {
    const token = (await this.tokens?.getAccessToken()) ?? this.connection.accessToken;
    const result = await this.callOnce(operation, url, init, token, timeoutMs);
    if (result.response.ok || !this.tokens || graphErrorOf(result.bodyText)?.code !== 190) return result;
    const renewed = await this.tokens.rejected(token);
    return renewed === undefined ? result : this.callOnce(operation, url, init, renewed, timeoutMs);
  }

  private async callOnce(operation: Operation, url: string, init: (token: string) => HttpRequestInit, token: string, timeoutMs: number): Promise<HttpResult> {
    try {
      const result = await this.http(this.withProof(url, token), init(token), timeoutMs);
      this.count(operation, String(result.response.status));
      return result;
    } catch (err) {
      const { error, statusLabel } = classifyGraphFetchError(err, timeoutMs);
      this.count(operation, statusLabel);
      this.logger.warn({ operation, accountId: this.connection.accountId, status: statusLabel }, 'instagram.request_failed');
      throw error;
    }
  }

  /** `appsecret_proof` as a query parameter (https://developers.facebook.com/docs/graph-api/security#appsecret_proof). */
  private withProof(url: string, token: string): string {
    if (!this.connection.appSecretProof) return url;
    const withProof = new URL(url);
    withProof.searchParams.set('appsecret_proof', appSecretProof(this.connection.appSecret, token));
    return withProof.href;
  }

  private failure(operation: Operation, response: HttpResponse, bodyText: string, windowClosedAt?: number): Error {
    const { accountId } = this.connection;
    const error = classifyGraphError(response.status, bodyText, { accountId, now: this.clock(), headers: response.headers, windowClosedAt });
    const graph = graphErrorOf(bodyText);
    // Only an administrator can fix these: the operator must see them, not just the agent.
    const log = error instanceof GraphConfigurationError ? this.logger.error.bind(this.logger) : this.logger.warn.bind(this.logger);
    log(
      {
        operation,
        accountId,
        status: response.status,
        code: graph?.code,
        subcode: graph?.error_subcode,
        fbtraceId: graph?.fbtrace_id,
        outcome: error.name,
        reason: error.reason,
      },
      error instanceof GraphConfigurationError ? 'instagram.configuration_error' : 'instagram.request_failed',
    );
    return error;
  }

  private count(operation: Operation, status: string): void {
    this.metrics?.outboundRequests.inc({ target: 'instagram', operation, status });
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function stringField(body: unknown, key: string): string | undefined {
  const value = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[key] : undefined;
  return typeof value === 'string' && value !== '' ? value : undefined;
}
