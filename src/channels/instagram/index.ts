/**
 * The Instagram channel (Meta's Instagram messaging, Instagram Login or Messenger Platform): everything the bridge
 * knows about Instagram, as one module. The platform's rules are in ./README.md.
 */
import type { ChannelModule } from '../../core/channel.js';
import { InstagramTokens } from './auth.js';
import { instagramConfigProblems, instagramConnectionSchema, instagramLogin, type InstagramConnection } from './config.js';
import { classifyGraphError } from './errors.js';
import { GraphClient } from './graph-client.js';
import { instagramMedia } from './media.js';
import { parseInstagramWebhook, splitInstagramWebhook } from './parse.js';
import { createInstagramReplier } from './reply.js';
import { answerMetaHandshake, verifyMetaSignature } from './verify.js';
import { instagramReplyWindow } from './window.js';

const SIGNATURE_HEADER = 'x-hub-signature-256';

export const InstagramModule: ChannelModule<InstagramConnection> = {
  name: 'instagram',
  labels: { source: 'Instagram DM', platform: 'Instagram', app: 'the Instagram app' },
  configSchema: instagramConnectionSchema,
  configProblems: (connections) => instagramConfigProblems(connections),
  accountId: (connection) => connection.accountId,

  webhook: {
    path: '/webhooks/instagram',
    verifier(connections) {
      // One Meta app (one URL) can serve several accounts: every secret that may sign a delivery.
      const secrets = [...new Set(connections.flatMap((c) => [c.appSecret, ...c.extraAppSecrets]))];
      return (raw, headers) => {
        const verdict = verifyMetaSignature(raw, headers.get(SIGNATURE_HEADER), secrets);
        if (verdict.ok) return { ok: true, signer: secrets[verdict.secretIndex]! };
        const message =
          verdict.reason === 'mismatch'
            ? 'X-Hub-Signature-256 does not match the body for any configured app secret'
            : 'X-Hub-Signature-256 must be sha256=<64 hex digits>';
        return { ok: false, reason: verdict.reason, message };
      };
    },
    signers: (connection) => [connection.appSecret, ...connection.extraAppSecrets],
    parse: (body) => parseInstagramWebhook(body),
    // Meta batches up to 1000 entries per POST, each with many items
    // (https://developers.facebook.com/docs/graph-api/webhooks/getting-started): each entry, and each slice of an
    // entry's messaging items, is a delivery of its own to the parser.
    split: splitInstagramWebhook,
    acknowledge: () => new Response('EVENT_RECEIVED', { status: 200, headers: { 'content-type': 'text/plain' } }),
    /**
     * Meta's subscription handshake: echo hub.challenge as the raw body when the verify token matches.
     * https://developers.facebook.com/docs/graph-api/webhooks/getting-started
     */
    handshake(params, connections) {
      const challenge = answerMetaHandshake(params, [...new Set(connections.map((c) => c.verifyToken))]);
      return challenge === null
        ? { ok: false, message: 'hub.mode must be subscribe and hub.verify_token must match a connection' }
        : { ok: true, body: challenge };
    },
  },

  connect(connection, { store, clock, metrics, logger, mediaFetch, attachments }) {
    // Only Instagram Login tokens expire and are renewed; a Facebook Login Page token is used as configured.
    const tokens = instagramLogin(connection) === 'instagram' ? new InstagramTokens({ connection, store, clock, metrics, logger }) : undefined;
    const graph = new GraphClient({ connection, metrics, logger, clock, ...(tokens ? { tokens } : {}) });
    const { media, mediaMime } = instagramMedia(mediaFetch);
    return {
      replier: createInstagramReplier(connection, graph, attachments),
      profile: (customerId) => graph.getProfile(customerId),
      media,
      mediaMime,
      ...(tokens ? { upkeep: () => tokens.upkeep() } : {}),
    };
  },

  // Meta retries a failed delivery "with decreasing frequency over the next 36 hours"
  // (https://developers.facebook.com/docs/graph-api/webhooks/getting-started).
  redeliveryHorizonMs: () => 36 * 60 * 60 * 1000,
  replyWindow(conversation, connection) {
    const window = instagramReplyWindow(conversation.lastInboundAt);
    return {
      ...(window.standardEndsAt !== undefined ? { endsAt: window.standardEndsAt } : {}),
      ...(connection.humanAgentTag && window.humanAgentEndsAt !== undefined ? { humanAgentEndsAt: window.humanAgentEndsAt } : {}),
    };
  },
  readsAreWatermarks: false,
  // The /media links of customers' media are signed with a key every instance derives from the same secrets.
  mediaKeyMaterial: (connection) => [connection.appSecret],
  classifyError: (status, bodyText, { connection, now }) =>
    status >= 200 && status < 300 ? undefined : classifyGraphError(status, bodyText, { accountId: connection.accountId, now }),
  // Only `dmbridge doctor` loads it.
  doctor: (connection, deps) => import('./doctor.js').then((m) => m.instagramDoctor(connection, deps)),
  sandbox: () => import('./sandbox/index.js').then((m) => m.instagramSandbox),
};
