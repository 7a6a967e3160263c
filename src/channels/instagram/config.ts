/** An Instagram connection's part of the configuration (docs/configuration.md, README "Setting up … Meta"). */
import { z } from 'zod';
import { connectionId, genesysBinding, nonEmpty } from '../../core/connection.js';

const INSTAGRAM_GRAPH = 'https://graph.instagram.com';
const INSTAGRAM_GRAPH_HOST = 'graph.instagram.com';
const FACEBOOK_GRAPH = 'https://graph.facebook.com';
const FACEBOOK_GRAPH_HOST = 'graph.facebook.com';

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
  graphBaseUrl: z.url().default(INSTAGRAM_GRAPH),
  graphApiVersion: z.string().regex(/^v\d+\.\d+$/, 'must look like v23.0').default('v23.0'),
  /**
   * Which Meta login the access token comes from (instagram-messaging.md key fact 1, §1): `instagram` (Instagram API
   * with Instagram Login: an Instagram user token that expires after 60 days and is refreshed by the bridge) or
   * `facebook` (Messenger Platform: a Page token, which does not expire this way). Default: `facebook` when
   * `graphBaseUrl` is on graph.facebook.com, else `instagram` — what the host implied before this key existed.
   */
  login: z.enum(['instagram', 'facebook']).optional(),
  /**
   * Facebook Login only: the Page linked to the account. Sends go to `/{pageId}/messages`, else to `/me/messages`
   * with the Page token (https://developers.facebook.com/docs/messenger-platform/instagram/features/send-message).
   */
  pageId: z.string().regex(/^\d{1,32}$/, 'must be the numeric Page id, as a string').optional(),
  /**
   * Send `appsecret_proof` (HMAC-SHA256 of the access token keyed with `appSecret`) with every Graph call: required
   * when the app has "Require App Secret" on (https://developers.facebook.com/docs/graph-api/security#appsecret_proof).
   * Off by default: which secret Meta expects with Instagram Login is UNCONFIRMED, and a wrong proof is refused.
   */
  appSecretProof: z.boolean().default(false),
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

/** The connection's Meta login, as configured or as its Graph host implies. */
export function instagramLogin(connection: Pick<InstagramConnection, 'login' | 'graphBaseUrl'>): 'instagram' | 'facebook' {
  return connection.login ?? (hostOf(connection.graphBaseUrl) === FACEBOOK_GRAPH_HOST ? 'facebook' : 'instagram');
}

/** The Graph host to call: a Facebook Login connection left on the default host goes to graph.facebook.com. */
export function graphBaseUrl(connection: Pick<InstagramConnection, 'login' | 'graphBaseUrl'>): string {
  const base = instagramLogin(connection) === 'facebook' && connection.graphBaseUrl === INSTAGRAM_GRAPH ? FACEBOOK_GRAPH : connection.graphBaseUrl;
  return base.replace(/\/+$/, '');
}

/**
 * Pairs that cannot work: an Instagram-Login token on graph.facebook.com (or the reverse) is answered 100/2534014
 * (instagram-messaging.md §1), and only a Facebook-Login account has a Page.
 */
export function instagramConfigProblems(connections: readonly InstagramConnection[]): string[] {
  return connections.flatMap((c) => {
    const problems: string[] = [];
    const host = hostOf(c.graphBaseUrl);
    if (c.login === 'instagram' && host === FACEBOOK_GRAPH_HOST) problems.push(`connections.${c.id}.graphBaseUrl: Instagram Login tokens work on graph.instagram.com, not graph.facebook.com`);
    if (c.login === 'facebook' && host === INSTAGRAM_GRAPH_HOST && c.graphBaseUrl !== INSTAGRAM_GRAPH) problems.push(`connections.${c.id}.graphBaseUrl: Facebook Login Page tokens work on graph.facebook.com`);
    if (c.pageId !== undefined && instagramLogin(c) !== 'facebook') problems.push(`connections.${c.id}.pageId: only a Facebook Login connection (login: facebook) has a Page`);
    return problems;
  });
}

function hostOf(url: string): string {
  return URL.canParse(url) ? new URL(url).hostname : '';
}
