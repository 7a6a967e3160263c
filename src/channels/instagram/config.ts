/** An Instagram connection's part of the configuration (docs/configuration.md, README "Setting up … Meta"). */
import { z } from 'zod';
import { connectionId, genesysBinding, nonEmpty } from '../../core/connection.js';

export const instagramConnectionSchema = z.strictObject({
  id: connectionId,
  channel: z.literal('instagram'),
  /** The professional account id Meta sends as `entry[].id` (Instagram Login: the `user_id`). */
  accountId: z.string().regex(/^\d{1,32}$/, 'must be the numeric Instagram account id, as a string'),
  /**
   * Secrets that may sign `X-Hub-Signature-256`. Which one Meta uses for Instagram Login is UNCONFIRMED
   * (instagram-messaging.md key fact 5), so both the Instagram app secret and the Meta App Secret may be given.
   */
  appSecret: nonEmpty,
  extraAppSecrets: z.array(nonEmpty).default([]),
  verifyToken: nonEmpty,
  accessToken: nonEmpty,
  graphBaseUrl: z.url().default('https://graph.instagram.com'),
  graphApiVersion: z.string().regex(/^v\d+\.\d+$/, 'must look like v23.0').default('v23.0'),
  /**
   * Send human agents' replies with Meta's HUMAN_AGENT tag between 24 hours and 7 days after the customer's
   * last message. Needs the Human Agent feature approved for the app in Meta's App Review.
   * https://developers.facebook.com/docs/messenger-platform/send-messages/message-tags
   */
  humanAgentTag: z.boolean().default(false),
  /** Show the agent what the brand sent from the Instagram app itself (echoes not sent through dmbridge). */
  forwardAppReplies: z.boolean().default(false),
  genesys: genesysBinding,
});

export type InstagramConnection = z.output<typeof instagramConnectionSchema>;
