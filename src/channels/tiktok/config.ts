/** A TikTok connection's part of the configuration (docs/configuration.md, README "Setting up … TikTok"). */
import { z } from 'zod';
import { connectionId, genesysBinding, nonEmpty } from '../../core/connection.js';

/** TikTok retries a webhook for up to 72 hours (tiktok-messaging.md key fact 21). */
export const TIKTOK_RETRY_HORIZON_SEC = 72 * 3600;

export const tiktokConnectionSchema = z.strictObject({
  id: connectionId,
  channel: z.literal('tiktok'),
  /** The business account's open_id: `user_openid` in the webhooks, `business_id` in API calls. */
  businessId: nonEmpty,
  /** The developer app's id (`client_key` in webhooks, `client_id` for tokens, `app_id` for webhook set-up). */
  appId: nonEmpty,
  /** Signs `TikTok-Signature` and authenticates token refreshes. */
  appSecret: nonEmpty,
  accessToken: nonEmpty,
  refreshToken: nonEmpty,
  apiBaseUrl: z.url().default('https://business-api.tiktok.com/open_api/v1.3'),
  /**
   * How old a webhook's signed timestamp may be. TikTok retries a failed delivery for up to 72 hours with the
   * ORIGINAL signed timestamp (https://developers.tiktok.com/doc/webhooks-overview; tiktok-messaging.md key facts
   * 20, 21), so any shorter window loses every message sent while the bridge was down longer than it. Replays are
   * stopped by the dedupe keys, which the configuration check keeps at least this long.
   */
  signatureToleranceSec: z.number().int().min(5).max(30 * 86_400).default(TIKTOK_RETRY_HORIZON_SEC),
  /** Show the agent what the brand sent from the TikTok app itself (echoes not sent through dmbridge). */
  forwardAppReplies: z.boolean().default(false),
  genesys: genesysBinding,
});

export type TikTokConnection = z.output<typeof tiktokConnectionSchema>;
