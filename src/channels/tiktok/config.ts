/** A TikTok connection's part of the configuration (docs/configuration.md, README "Setting up … TikTok"). */
import { z } from 'zod';
import { connectionId, genesysBinding, nonEmpty } from '../../core/connection.js';

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
   * How old a webhook's signed timestamp may be. TikTok's sample says 5 s, but real deliveries failed that, so
   * 300 s plus dedupe (tiktok-messaging.md key fact 20).
   */
  signatureToleranceSec: z.number().int().min(5).max(3600).default(300),
  /** Show the agent what the brand sent from the TikTok app itself (echoes not sent through dmbridge). */
  forwardAppReplies: z.boolean().default(false),
  genesys: genesysBinding,
});

export type TikTokConnection = z.output<typeof tiktokConnectionSchema>;
