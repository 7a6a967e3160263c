/**
 * The job that delivers one normalized inbound message to Genesys Open Messaging, with what the bridge knows
 * besides the message: the customer's profile, the reply window, and which agent message a reaction is about.
 */
import { z } from 'zod';
import type { ConnectionDirectory, LinkedConnection } from '../core/channel.js';
import type { Clock } from '../core/clock.js';
import { conversationKey } from '../core/conversation.js';
import { PermanentError } from '../core/errors.js';
import { saneEventTime, withoutFutureWindow } from '../core/event-time.js';
import type { InboundAttachment, InboundMessage, MediaReference } from '../core/events.js';
import type { JobHandler } from '../core/jobs.js';
import type { Conversations, Records } from '../core/store.js';
import type { GenesysClient } from '../genesys/client.js';
import type { Logger } from '../logger.js';
import { buildGenesysInboundMessage, buildGenesysStructuredResponse } from '../genesys/translate.js';
import { replyWindowAttributes } from '../genesys/window-attributes.js';
import { defineJobKind, type PayloadOf } from './kinds.js';
import { CUSTOMER_MESSAGE, PLATFORM_MESSAGE, linkTtlMs, type CustomerOfMessage, type PlatformMessageLink } from './links.js';
import { offerAnswered } from './offers.js';
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
  /** The bridge's /media link for platform media, typed as the platform serves it (the parser could only guess). */
  async function bridgedAttachment(connectionId: string, attachment: InboundAttachment, linked: LinkedConnection): Promise<InboundAttachment> {
    const reference = attachment.reference!;
    const mime = await linked.clients.mediaMime?.(reference);
    return { ...attachment, url: deps.mediaUrl(connectionId, reference), ...(mime ? { mime } : {}) };
  }

  return {
    pauseKeys: () => [deps.pauseKey],
    async run({ connectionId, event: stored }, job) {
      const linked = deps.connections.get(connectionId);
      if (!linked) throw new PermanentError(`connection "${connectionId}" is no longer configured; the message cannot be delivered`);
      const { connection, channel } = linked;
      // Jobs stored before event times were checked at intake may carry any time (src/core/event-time.ts).
      const event = { ...stored, timestamp: saneEventTime(stored.timestamp, job.createdAt).timestamp };
      const [profile, stateNow, referred] = await Promise.all([
        deps.profiles(connectionId, event.customerId),
        deps.store.getConversation(conversationKey(connectionId, event.customerId)),
        event.refersTo ? deps.store.getRecord<PlatformMessageLink>(PLATFORM_MESSAGE, `${connectionId}:${event.refersTo}`) : undefined,
        // What a later event naming only this message (an edit) is attributed with (./message-update.ts).
        event.opensWindow
          ? deps.store.putRecord(CUSTOMER_MESSAGE, `${connectionId}:${event.messageId}`, { customerId: event.customerId } satisfies CustomerOfMessage, deps.clock() + linkTtlMs)
          : undefined,
      ]);
      const { conversation } = withoutFutureWindow(stateNow, deps.clock());
      const lastInboundAt = conversation.lastInboundAt ?? (event.opensWindow ? event.timestamp : undefined);
      const window = replyWindowAttributes(channel.replyWindow({ ...conversation, ...(lastInboundAt !== undefined ? { lastInboundAt } : {}) }, connection), deps.clock());
      const enriched: InboundMessage = {
        ...event,
        ...(event.attachment?.reference ? { attachment: await bridgedAttachment(connectionId, event.attachment, linked) } : {}),
        ...(referred?.snippet ? { text: `${event.text ?? ''} “${referred.snippet}”`.trim() } : {}),
        attributes: { ...event.attributes, ...window },
      };
      const who = profile ?? channel.senderProfile?.(event);
      const ctx = { connectionId, source: channel.labels.source, ...(who ? { profile: who } : {}) };
      const delivered = (genesysMessageId: string | undefined) =>
        deps.logger.info(
          { connectionId, channel: event.channel, messageId: event.messageId, subtype: event.subtype, genesysMessageId, outcome: 'Delivered' },
          'customer message delivered to Genesys',
        );
      // A tap on a button Genesys offered goes back as the button, so that a bot flow receives it (./offers.ts).
      const { button } = enriched;
      const answered = button ? await offerAnswered(deps.store, connectionId, { ...enriched, button }) : undefined;
      if (button && answered) {
        const accepted = await deps.client.sendStructuredResponse(connection.genesys.integrationId, buildGenesysStructuredResponse({ ...enriched, button }, answered, ctx));
        return delivered(accepted.id);
      }
      const accepted = await deps.client.sendInboundMessage(connection.genesys.integrationId, buildGenesysInboundMessage(enriched, ctx));
      delivered(accepted.id);
    },
  };
}
