/**
 * The customer read a message sent to them. Runs in the customer's reply queue like echoes (./echo.ts), so the
 * read of an agent reply finds its link. Recorded on the agent message it refers to and counted: Genesys Open
 * Messaging takes no Read receipt (genesys-open-messaging.md key fact 12), so nothing is sent there.
 */
import { z } from 'zod';
import type { ConnectionDirectory } from '../core/channel.js';
import { replyQueueKey } from '../core/conversation.js';
import type { InboundRead } from '../core/events.js';
import type { JobHandler } from '../core/jobs.js';
import type { NewJob, Records } from '../core/store.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { defineJobKind, type PayloadOf } from './kinds.js';
import { PLATFORM_MESSAGE, linkTtlMs, type PlatformMessageLink } from './links.js';
import { inboundReadSchema } from './payloads.js';

export const readJobKind = defineJobKind('platform.read', 1, z.object({ connectionId: z.string(), event: inboundReadSchema }));
export type ReadPayload = PayloadOf<typeof readJobKind>;

export function readJob(connectionId: string, event: InboundRead): NewJob {
  return readJobKind.job({ connectionId, event }, { dedupeKey: event.dedupeKey, conversationKey: replyQueueKey(connectionId, event.customerId) });
}

export function createReadHandler(deps: { store: Records; connections: ConnectionDirectory; logger: Logger; metrics: Metrics }): JobHandler<ReadPayload> {
  return {
    async run({ connectionId, event }) {
      if (deps.connections.get(connectionId)?.channel.readsAreWatermarks) {
        deps.metrics.eventsSkipped.inc({ channel: event.channel, reason: 'read' });
        deps.logger.info({ connectionId, readUpTo: new Date(event.timestamp).toISOString() }, 'customer read the conversation');
        return;
      }
      const key = `${connectionId}:${event.messageId}`;
      const link = await deps.store.getRecord<PlatformMessageLink>(PLATFORM_MESSAGE, key);
      if (!link) {
        deps.metrics.eventsSkipped.inc({ channel: event.channel, reason: 'read_unknown_message' });
        return;
      }
      if (link.readAt === undefined) {
        // Keep the link's lifetime: re-put with a fresh TTL is fine, the link is still current.
        await deps.store.putRecord(PLATFORM_MESSAGE, key, { ...link, readAt: event.timestamp }, event.timestamp + linkTtlMs);
      }
      deps.metrics.eventsSkipped.inc({ channel: event.channel, reason: 'read' });
      deps.logger.info({ connectionId, genesysMessageId: link.genesysMessageId, readAt: new Date(event.timestamp).toISOString() }, 'customer read a message');
    },
  };
}
