/**
 * The job that delivers one normalized inbound message to Genesys Open Messaging, with what the bridge knows
 * besides the message: the customer's profile, the reply window, and which agent message a reaction is about.
 */
import { z } from 'zod';
import type { ConnectionDirectory } from '../core/channel.js';
import type { Clock } from '../core/clock.js';
import { conversationKey } from '../core/conversation.js';
import { PermanentError } from '../core/errors.js';
import type { InboundMessage, MediaReference } from '../core/events.js';
import type { JobHandler } from '../core/jobs.js';
import type { Conversations, Records } from '../core/store.js';
import type { GenesysClient } from '../genesys/client.js';
import type { Logger } from '../logger.js';
import { buildGenesysInboundMessage } from '../genesys/translate.js';
import { replyWindowAttributes } from '../genesys/window-attributes.js';
import { defineJobKind, type PayloadOf } from './kinds.js';
import { PLATFORM_MESSAGE, type PlatformMessageLink } from './links.js';
import { inboundMessageSchema } from './payloads.js';
import type { ProfileLookup } from './profiles.js';

export const genesysInboundJob = defineJobKind('genesys.inbound', 1, z.object({ connectionId: z.string(), event: inboundMessageSchema }));

export type GenesysInboundPayload = PayloadOf<typeof genesysInboundJob>;

/** The job for one customer message, ordered in its conversation. */
export function genesysInbound(connectionId: string, event: InboundMessage) {
  return genesysInboundJob.job({ connectionId, event }, { dedupeKey: event.dedupeKey, conversationKey: conversationKey(connectionId, event.customerId) });
}

export function createGenesysInboundHandler(deps: {
  connections: ConnectionDirectory;
  client: GenesysClient;
  store: Conversations & Records;
  clock: Clock;
  profiles: ProfileLookup;
  /** The bridge URL Genesys fetches platform-authenticated media from; see src/media/proxy.ts. */
  mediaUrl: (connectionId: string, reference: MediaReference) => string;
  /** Rate-limit pause key shared by every job that uses this OAuth client. */
  pauseKey: string;
  logger: Logger;
}): JobHandler<GenesysInboundPayload> {
  return {
    pauseKeys: () => [deps.pauseKey],
    async run({ connectionId, event }) {
      const linked = deps.connections.get(connectionId);
      if (!linked) throw new PermanentError(`connection "${connectionId}" is no longer configured; the message cannot be delivered`);
      const { connection, channel } = linked;
      const [profile, conversation, referred] = await Promise.all([
        deps.profiles(connectionId, event.customerId),
        deps.store.getConversation(conversationKey(connectionId, event.customerId)),
        event.refersTo ? deps.store.getRecord<PlatformMessageLink>(PLATFORM_MESSAGE, `${connectionId}:${event.refersTo}`) : undefined,
      ]);
      const lastInboundAt = conversation.lastInboundAt ?? (event.opensWindow ? event.timestamp : undefined);
      const window = replyWindowAttributes(channel.replyWindow({ ...conversation, ...(lastInboundAt !== undefined ? { lastInboundAt } : {}) }, connection), deps.clock());
      const enriched: InboundMessage = {
        ...event,
        ...(event.attachment?.reference ? { attachment: { ...event.attachment, url: deps.mediaUrl(connectionId, event.attachment.reference) } } : {}),
        ...(referred?.snippet ? { text: `${event.text ?? ''} “${referred.snippet}”`.trim() } : {}),
        attributes: { ...event.attributes, ...window },
      };
      const who = profile ?? channel.senderProfile?.(event);
      const body = buildGenesysInboundMessage(enriched, { connectionId, source: channel.labels.source, ...(who ? { profile: who } : {}) });
      const accepted = await deps.client.sendInboundMessage(connection.genesys.integrationId, body);
      deps.logger.info(
        { connectionId, channel: event.channel, messageId: event.messageId, subtype: event.subtype, genesysMessageId: accepted.id, outcome: 'Delivered' },
        'customer message delivered to Genesys',
      );
    },
  };
}
