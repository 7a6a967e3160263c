/**
 * The TikTok channel (TikTok API for Business, Business Messaging): everything the bridge knows about TikTok, as
 * one module. The platform's rules are in ./README.md.
 */
import type { ChannelModule, SignatureVerdict } from '../../core/channel.js';
import type { ParseResult } from '../../core/events.js';
import { tiktokApiEnvelopeOf } from '../tiktok-envelope.js';
import { TikTokClient } from './api-client.js';
import { TikTokTokens } from './auth.js';
import { tiktokConnectionSchema, type TikTokConnection } from './config.js';
import { classifyTikTokError } from './errors.js';
import { tiktokMediaSource } from './media.js';
import { parseTikTokWebhook } from './parse.js';
import { COMMENT_LABEL, MENTION_LABEL } from './parse-social.js';
import { createTikTokReplier } from './reply.js';
import { verifyTikTokSignature } from './verify.js';
import { TIKTOK_REPLY_WINDOW } from './window.js';

const WEBHOOK_PATH = '/webhooks/tiktok';

const SIGNATURE_MESSAGES = {
  stale: 'the signed timestamp is outside the accepted tolerance',
  mismatch: 'TikTok-Signature does not match the body for any configured app secret',
  missing: 'TikTok-Signature must be t=<unix seconds>,s=<hex HMAC-SHA256>',
  malformed: 'TikTok-Signature must be t=<unix seconds>,s=<hex HMAC-SHA256>',
} as const;

/** TikTok retries anything but a 200 for up to 72 hours (https://business-api.tiktok.com/portal/docs?id=1832190670631937). */
const acknowledge = () => Response.json({ code: 0, message: 'OK' }, { status: 200 });

/** A removed authorization stops every call of the connection: the operator must hear of it, loudly. */
function withOperatorAlerts(result: ParseResult): ParseResult {
  for (const skipped of result.skipped) {
    if (skipped.reason === 'authorization_removed') skipped.alert = 'TikTok says a business removed its authorization: re-authorize the connection';
  }
  return result;
}

export const TikTokModule: ChannelModule<TikTokConnection> = {
  name: 'tiktok',
  labels: { source: 'TikTok DM', platform: 'TikTok', app: 'the TikTok app' },
  configSchema: tiktokConnectionSchema,
  // Genesys fetches TikTok media from the bridge's own /media route (design.md, Media).
  configProblems: (connections, server) =>
    connections.length > 0 && !server.publicUrl
      ? ['server.publicUrl: required with a TikTok connection (Genesys fetches TikTok media from the bridge)']
      : [],
  accountId: (connection) => connection.businessId,

  webhook: {
    path: WEBHOOK_PATH,
    verifier(connections) {
      // One developer app (one webhook URL) may serve several business accounts, each app with its own secret.
      const tolerance = new Map<string, number>();
      for (const c of connections) tolerance.set(c.appSecret, Math.max(tolerance.get(c.appSecret) ?? 0, c.signatureToleranceSec));
      return (raw, headers, now): SignatureVerdict => {
        const header = headers.get('tiktok-signature');
        let failure: keyof typeof SIGNATURE_MESSAGES = 'mismatch';
        for (const [secret, toleranceSec] of tolerance) {
          const verdict = verifyTikTokSignature(raw, header, secret, { now, toleranceSec });
          if (verdict.ok) return { ok: true, signer: secret, signedAt: verdict.timestamp * 1000 };
          failure = verdict.reason;
          if (failure === 'missing' || failure === 'malformed') break;
        }
        return { ok: false, reason: failure, message: SIGNATURE_MESSAGES[failure] };
      };
    },
    signers: (connection) => [connection.appSecret],
    parse: (body) => withOperatorAlerts(parseTikTokWebhook(body)),
    acknowledge,
    // TikTok documents no Content-Type for its webhooks; a 415 would be retried for 72 hours, then lost.
    anyContentType: true,
  },
  redeliveryHorizonMs: (connection) => connection.signatureToleranceSec * 1000,

  connect(connection, { store, clock, metrics, logger, mediaFetch, attachments }) {
    const tokens = new TikTokTokens({
      connection,
      store,
      clock,
      metrics,
      logger,
      onReauthorizationRequired: (id) => metrics.reauthorizationRequired.set({ connection: id }, 1),
    });
    const client = new TikTokClient({ connection, tokens, mediaFetch, attachments, clock, metrics, logger });
    return { replier: createTikTokReplier(connection, client, clock), media: tiktokMediaSource(client) };
  },

  // TikTok has no profile API for customers, but most messages name the sender's username. Comments and mentions in
  // comments do not: the agent reads what the person is rather than their raw open_id.
  senderProfile(message) {
    const username = message.attributes['dmbridge.tiktok.username'];
    if (username) return { username };
    if (message.label === COMMENT_LABEL || message.label === MENTION_LABEL) return { username: `${message.label} author` };
    return undefined;
  },
  // `message_tag.source` API: sent by an API app of the business, not necessarily dmbridge (key fact 23).
  echoOrigin: (echo) => (echo.source === 'API' ? 'another app connected to the TikTok account' : 'the TikTok app'),
  replyWindow: (conversation) =>
    conversation.lastInboundAt === undefined ? {} : { endsAt: conversation.lastInboundAt + TIKTOK_REPLY_WINDOW.standardMs },
  // TikTok reads are a watermark over the whole conversation (tiktok-messaging.md key fact 34).
  readsAreWatermarks: true,
  mediaKeyMaterial: (connection) => [connection.appSecret],
  classifyError: (status, bodyText, { connection, now }) =>
    classifyTikTokError(status, tiktokApiEnvelopeOf(bodyText) ?? bodyText, { businessId: connection.businessId, now }),
  // Only `dmbridge doctor` loads it.
  doctor: (connection, deps) => import('./doctor.js').then((m) => m.tiktokDoctor(connection, deps, { webhookPath: WEBHOOK_PATH })),
  sandbox: () => import('./sandbox/index.js').then((m) => m.tiktokSandbox),
};
