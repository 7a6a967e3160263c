/**
 * The job that delivers one normalized inbound message to Genesys Open Messaging, with what the bridge knows
 * besides the message: the customer's profile, the reply window, and which agent message a reaction is about.
 */
import type { ConnectionConfig } from '../config.js';
import { conversationKey } from '../core/conversation.js';
import type { InboundMessage, MediaReference } from '../core/events.js';
import { PermanentError } from '../core/errors.js';
import type { ProfileLookup } from '../inbound/profiles.js';
import { PLATFORM_MESSAGE, type PlatformMessageLink } from '../outbound/links.js';
import type { JobHandler } from '../queue/worker.js';
import type { Clock, Job, Store } from '../store/store.js';
import type { GenesysClient } from './client.js';
import { buildGenesysInboundMessage } from './translate.js';
import { replyWindowAttributes } from './window-attributes.js';

export const GENESYS_INBOUND_JOB = 'genesys.inbound';

export interface GenesysInboundJob {
  connectionId: string;
  event: InboundMessage;
}

export function createGenesysInboundHandler(deps: {
  connections: readonly ConnectionConfig[];
  client: GenesysClient;
  store: Store;
  clock: Clock;
  profiles: ProfileLookup;
  /** The bridge URL Genesys fetches a platform-authenticated media from (TikTok); see src/media/proxy.ts. */
  mediaUrl: (connectionId: string, reference: MediaReference) => string;
  /** Rate-limit pause key shared by every job that uses this OAuth client. */
  pauseKey: string;
}): JobHandler {
  const byId = new Map(deps.connections.map((c) => [c.id, c]));
  return {
    pauseKeys: () => [deps.pauseKey],
    async run(job: Job) {
      const { connectionId, event } = job.payload as GenesysInboundJob;
      const connection = byId.get(connectionId);
      if (!connection) {
        throw new PermanentError(`connection "${connectionId}" is no longer configured; the message cannot be delivered`);
      }
      const [profile, conversation, referred] = await Promise.all([
        deps.profiles(connectionId, event.customerId),
        deps.store.getConversation(conversationKey(connectionId, event.customerId)),
        event.refersTo ? deps.store.getRecord<PlatformMessageLink>(PLATFORM_MESSAGE, `${connectionId}:${event.refersTo}`) : undefined,
      ]);
      const window = replyWindowAttributes({
        channel: event.channel,
        lastInboundAt: conversation.lastInboundAt ?? (event.opensWindow ? event.timestamp : undefined),
        now: deps.clock(),
        humanAgentTag: 'humanAgentTag' in connection && connection.humanAgentTag,
      });
      const enriched: InboundMessage = {
        ...event,
        ...(event.attachment?.reference ? { attachment: { ...event.attachment, url: deps.mediaUrl(connectionId, event.attachment.reference) } } : {}),
        ...(referred?.snippet ? { text: `${event.text ?? ''} “${referred.snippet}”`.trim() } : {}),
        attributes: { ...event.attributes, ...window },
      };
      // TikTok has no profile API for customers, but every message names the sender's username.
      const handle = event.attributes['dmbridge.tiktok.username'];
      const who = profile ?? (handle ? { username: handle } : undefined);
      const body = buildGenesysInboundMessage(enriched, { connectionId, ...(who ? { profile: who } : {}) });
      await deps.client.sendInboundMessage(connection.genesys.integrationId, body);
    },
  };
}
