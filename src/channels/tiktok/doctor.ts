/**
 * `dmbridge doctor` for a TikTok connection: the access token is one TikTok knows, of the configured business; what
 * the bridge knows of the tokens' expiry; and the app's DIRECT_MESSAGE webhook points at this bridge. Refreshes
 * nothing: a refresh rotates the refresh token (tiktok-messaging.md key fact 5), and a doctor run against another
 * store than the bridge's would leave the bridge with a dead one.
 */
import type { DoctorDeps } from '../../core/channel.js';
import { NO_WEBHOOK_BASE, webhookUrl, type DoctorCheck, type WebhookBase } from '../../core/doctor.js';
import { httpCall, type HttpCall } from '../../net/http.js';
import { tiktokApiEnvelopeOf } from '../tiktok-envelope.js';
import { TikTokTokens } from './auth.js';
import type { TikTokConnection } from './config.js';


const DAY_MS = 24 * 60 * 60_000;
const TIMEOUT_MS = 10_000;
/** A refresh token this close to its end needs the business to authorize the app again soon. */
const REFRESH_WARNING_MS = 14 * DAY_MS;
/** Bad or expired token (tiktok-messaging.md key fact 29). */
const TOKEN_INVALID = 40105;

interface DoctorOptions {
  /** The route TikTok must post to, after the webhook base URL. */
  webhookPath: string;
  http?: HttpCall;
}

export async function tiktokDoctor(connection: TikTokConnection, deps: DoctorDeps, opts: DoctorOptions): Promise<DoctorCheck[]> {
  const http = opts.http ?? httpCall;
  const tokens = new TikTokTokens({ connection, store: deps.store, clock: deps.clock, logger: deps.logger });
  const status = await tokens.status();
  const name = (what: string) => `${connection.id}: TikTok ${what}`;
  return [
    await tokenCheck(connection, status, deps.clock(), http, name('token is valid')),
    expiryCheck(connection, status, deps.clock(), name('token expiry')),
    await webhookCheck(connection, deps.webhookBase, opts.webhookPath, http, name('webhook points at the bridge')),
  ];
}

/** `POST /tt_user/token_info/get/` `{app_id, access_token}` → `{app_id, creator_id, scope}` (§1), no Access-Token. */
async function tokenCheck(
  connection: TikTokConnection,
  status: { accessToken: string; expiresAt?: number },
  now: number,
  http: HttpCall,
  name: string,
): Promise<DoctorCheck> {
  const answer = await call(http, `${base(connection)}/tt_user/token_info/get/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ app_id: connection.appId, access_token: status.accessToken }),
  });
  if ('failed' in answer) return { name, ok: false, detail: answer.failed, fix: 'Check that the bridge can reach the TikTok API (apiBaseUrl).' };
  if (answer.code === TOKEN_INVALID) {
    if (status.expiresAt !== undefined && status.expiresAt <= now) {
      return { name, ok: true, detail: 'the access token expired (it lives 24 h); the bridge renews it with the refresh token on its next call' };
    }
    return {
      name,
      ok: false,
      detail: `TikTok refused the access token: ${answer.message}`,
      fix: `If the token was issued more than 24 hours ago, start the bridge (it renews the token with the refresh token) and run doctor again; otherwise authorize the business again (docs/tiktok-app.md) and put both new tokens in connections.${connection.id}.`,
    };
  }
  if (answer.code !== 0) {
    return { name, ok: false, detail: `TikTok answered ${answer.code}: ${answer.message}`, fix: `Check connections.${connection.id}.appId: it must be the app the business authorized.` };
  }
  const creator = typeof answer.data.creator_id === 'string' ? answer.data.creator_id : '';
  if (creator !== connection.businessId) {
    return {
      name,
      ok: false,
      detail: `the token belongs to business ${creator || '(none named)'}, not ${connection.businessId}`,
      fix: `Set connections.${connection.id}.businessId to the open_id of the business that authorized the app, or use that business's tokens.`,
    };
  }
  const scope = typeof answer.data.scope === 'string' ? answer.data.scope : '';
  const missing = ['message.list.send', 'message.list.read'].filter((s) => !scope.split(/[,\s]+/).includes(s));
  if (missing.length > 0) {
    return { name, ok: false, detail: `the token lacks the scopes ${missing.join(', ')}`, fix: 'Authorize the app again with the Business Messaging scopes (docs/tiktok-app.md).' };
  }
  return { name, ok: true, detail: `of business ${creator}, scopes ${scope}` };
}

function expiryCheck(
  connection: TikTokConnection,
  status: { expiresAt?: number; refreshExpiresAt?: number; reauthorizationRequired: boolean },
  now: number,
  name: string,
): DoctorCheck {
  const reauthorize = `Authorize the business again (docs/tiktok-app.md) and put both new tokens in connections.${connection.id}; the bridge uses them from its next start.`;
  if (status.reauthorizationRequired) return { name, ok: false, detail: 'TikTok refused to refresh the tokens: the bridge stopped sending', fix: reauthorize };
  const access = status.expiresAt === undefined ? 'not known yet (learnt at the first refresh)' : `${iso(status.expiresAt)}, renewed 5 minutes before`;
  if (status.refreshExpiresAt === undefined) return { name, ok: true, detail: `access token: ${access}; refresh token: not known yet` };
  const left = status.refreshExpiresAt - now;
  const refresh = `${iso(status.refreshExpiresAt)} (${Math.max(0, Math.floor(left / DAY_MS))} days)`;
  if (left < REFRESH_WARNING_MS) return { name, ok: false, detail: `the refresh token ends ${refresh}; after that nothing can be sent`, fix: reauthorize };
  return { name, ok: true, detail: `access token: ${access}; refresh token: ${refresh}` };
}

/** `GET /business/webhook/list/` with `app_id`, `secret`, `event_type` (§2): the app's one callback URL. */
async function webhookCheck(connection: TikTokConnection, webhookBase: WebhookBase | undefined, path: string, http: HttpCall, name: string): Promise<DoctorCheck> {
  if (webhookBase === undefined) {
    return { name, ok: false, detail: `${NO_WEBHOOK_BASE}, so the bridge cannot tell its own webhook URL`, fix: 'Set server.publicUrl to the HTTPS address TikTok reaches the bridge at.' };
  }
  const expected = webhookUrl(webhookBase, path);
  const query = new URLSearchParams({ app_id: connection.appId, secret: connection.appSecret, event_type: 'DIRECT_MESSAGE' });
  // The secret travels in the query string (§2): this URL is never logged.
  const answer = await call(http, `${base(connection)}/business/webhook/list/?${query}`, { method: 'GET', headers: { accept: 'application/json' } });
  if ('failed' in answer) return { name, ok: false, detail: answer.failed, fix: 'Check that the bridge can reach the TikTok API (apiBaseUrl).' };
  if (answer.code !== 0) {
    return { name, ok: false, detail: `TikTok answered ${answer.code}: ${answer.message}`, fix: `Check connections.${connection.id}.appId and appSecret: they are the developer app's.` };
  }
  const configured = typeof answer.data.callback_url === 'string' ? answer.data.callback_url : '';
  if (configured === expected) return { name, ok: true, detail: expected };
  return {
    name,
    ok: false,
    detail: configured ? `the app's DIRECT_MESSAGE webhook is ${configured}` : 'the app has no DIRECT_MESSAGE webhook',
    fix: `Set the app's webhook to ${expected} (developer portal, or POST /business/webhook/update/ with event_type DIRECT_MESSAGE; docs/tiktok-app.md).`,
  };
}

type Answer = { code: number; message: string; data: Record<string, unknown> } | { failed: string };

async function call(http: HttpCall, url: string, init: Parameters<HttpCall>[1]): Promise<Answer> {
  try {
    const { response, bodyText } = await http(url, init, TIMEOUT_MS);
    const envelope = tiktokApiEnvelopeOf(bodyText);
    if (envelope?.code === undefined) return { failed: `TikTok answered HTTP ${response.status} without its envelope` };
    const data = typeof envelope.data === 'object' && envelope.data !== null ? (envelope.data as Record<string, unknown>) : {};
    return { code: envelope.code, message: envelope.message ?? '', data };
  } catch (err) {
    return { failed: `no answer from the TikTok API: ${(err as Error).name === 'TimeoutError' ? `nothing within ${TIMEOUT_MS} ms` : (err as Error).message}` };
  }
}

function base(connection: TikTokConnection): string {
  return connection.apiBaseUrl.replace(/\/+$/, '');
}

function iso(epochMs: number): string {
  return new Date(epochMs).toISOString();
}
