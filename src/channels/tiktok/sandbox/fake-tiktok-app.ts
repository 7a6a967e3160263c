/**
 * The fake TikTok API's developer-app calls, which carry no `Access-Token` (tiktok-messaging.md §1, §2): token
 * introspection (`POST /tt_user/token_info/get/` with `{app_id, access_token}` → `{app_id, creator_id, scope}`, the
 * creator being the business) and the app's webhook configuration (`GET /business/webhook/list/` with `app_id`,
 * `secret` and `event_type` in the query → `{app_id, event_type, callback_url}`, no URL when none is set).
 */
import type { Hono } from 'hono';
import { envelope, isRecord, jsonBody } from './fake-tiktok-wire.js';

export interface FakeTikTokApp {
  appId: string;
  appSecret: string;
  businessId: string;
  basePath: string;
  /** Whether TikTok would take this access token now. */
  tokenState(token: string): 'valid' | 'expired' | 'unknown';
  /** The app's DIRECT_MESSAGE webhook URL; undefined: not configured. */
  webhookUrl(): string | undefined;
}

const SCOPE = 'user.info.basic,message.list.read,message.list.send,message.list.manage';

export function serveAppAdministration(app: Hono, fake: FakeTikTokApp): void {
  app.post(`${fake.basePath}/tt_user/token_info/get/`, async (c) => {
    const body = await jsonBody(c);
    if (!isRecord(body)) return envelope(40002, 'The request body must be JSON.');
    if (body.app_id !== fake.appId) return envelope(40002, 'Param app_id is invalid.');
    const state = typeof body.access_token === 'string' ? fake.tokenState(body.access_token) : 'unknown';
    if (state === 'unknown') return envelope(40105, 'Access token is incorrect or has been revoked.');
    if (state === 'expired') return envelope(40105, 'Access token has expired.');
    return envelope(0, 'OK', { app_id: fake.appId, creator_id: fake.businessId, scope: SCOPE });
  });

  app.get(`${fake.basePath}/business/webhook/list/`, (c) => {
    if (c.req.header('access-token') !== undefined) return envelope(40002, 'Access-Token is not accepted on this endpoint.');
    if (c.req.query('app_id') !== fake.appId) return envelope(40002, 'Param app_id is invalid.');
    if (c.req.query('secret') !== fake.appSecret) return envelope(40001, 'No permission to operate this app.');
    const eventType = c.req.query('event_type');
    if (eventType !== 'DIRECT_MESSAGE' && eventType !== 'COMMENT') return envelope(40002, 'Param event_type is invalid.');
    const url = eventType === 'DIRECT_MESSAGE' ? fake.webhookUrl() : undefined;
    return envelope(0, 'OK', { app_id: fake.appId, event_type: eventType, ...(url ? { callback_url: url } : {}) });
  });
}
