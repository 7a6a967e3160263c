/**
 * What the platform tells us about messages sent to the customer: echoes of sends and the customer's reads.
 * These jobs run in the reply queue of the conversation, after any reply enqueued before them, so the send an
 * echo or a read refers to has already recorded its platform message id (an echo can arrive before the Send
 * API call returns: instagram-messaging.md key fact 14).
 *
 * - An echo of our own reply is dropped: forwarding it would show the agent their own words as the
 *   customer's, and a loop would follow (genesys-open-messaging.md key fact 30).
 * - An echo of a message the brand sent from the platform's own app is recorded, and shown to the agent as a
 *   note when the connection has `forwardAppReplies`, so the transcript stays complete.
 * - A read is recorded on the agent message it refers to and counted. Genesys Open Messaging takes no Read
 *   receipt (key fact 12), so it is not sent there.
 */
import type { ConnectionConfig } from '../config.js';
import { replyQueueKey } from '../core/conversation.js';
import type { InboundEcho, InboundRead } from '../core/events.js';
import type { GenesysClient } from '../genesys/client.js';
import { buildGenesysInboundMessage } from '../genesys/translate.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { JobHandler } from '../queue/worker.js';
import type { Clock, NewJob, Store } from '../store/store.js';
import { PLATFORM_MESSAGE, linkTtlMs, type PlatformMessageLink } from './links.js';

export const PLATFORM_ECHO_JOB = 'platform.echo';
export const PLATFORM_READ_JOB = 'platform.read';

interface EchoJob {
  connectionId: string;
  event: InboundEcho;
}
interface ReadJob {
  connectionId: string;
  event: InboundRead;
}

export function echoOrReadJob(connectionId: string, event: InboundEcho | InboundRead): NewJob {
  return {
    dedupeKey: event.dedupeKey,
    conversationKey: replyQueueKey(connectionId, event.customerId),
    kind: event.kind === 'echo' ? PLATFORM_ECHO_JOB : PLATFORM_READ_JOB,
    payload: { connectionId, event },
  };
}

const CHANNEL_APP: Record<string, string> = { instagram: 'the Instagram app', tiktok: 'the TikTok app' };

export function createEchoHandler(deps: {
  store: Store;
  connections: readonly ConnectionConfig[];
  genesys: GenesysClient;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  /** Genesys rate-limit pause key: app replies forwarded as notes are Genesys calls. */
  genesysPauseKey: string;
}): JobHandler {
  const byId = new Map(deps.connections.map((c) => [c.id, c]));
  return {
    pauseKeys: () => [deps.genesysPauseKey],
    async run(job) {
      const { connectionId, event } = job.payload as EchoJob;
      const key = `${connectionId}:${event.messageId}`;
      const known = await deps.store.getRecord<PlatformMessageLink>(PLATFORM_MESSAGE, key);
      if (known) {
        deps.metrics.eventsSkipped.inc({ channel: event.channel, reason: `echo_${known.origin}` });
        return;
      }
      const connection = byId.get(connectionId);
      const link: PlatformMessageLink = { origin: 'app', snippet: (event.text ?? '').slice(0, 80) };
      await deps.store.putRecord(PLATFORM_MESSAGE, key, link, deps.clock() + linkTtlMs);
      deps.logger.info({ connectionId, messageId: event.messageId }, 'the brand replied from the platform app');
      if (!connection || !('forwardAppReplies' in connection) || !connection.forwardAppReplies) {
        deps.metrics.eventsSkipped.inc({ channel: event.channel, reason: 'echo_app' });
        return;
      }
      const text = `📱 Sent from ${CHANNEL_APP[event.channel]} by the brand: ${event.text?.trim() || '[no text: media or a sticker]'}`;
      const note = buildGenesysInboundMessage(
        { ...event, kind: 'message', subtype: 'app_reply', text, attributes: { 'dmbridge.note': 'app_reply' }, opensWindow: false },
        { connectionId },
      );
      await deps.genesys.sendInboundMessage(connection.genesys.integrationId, note);
    },
  };
}

export function createReadHandler(deps: { store: Store; logger: Logger; metrics: Metrics }): JobHandler {
  return {
    async run(job) {
      const { connectionId, event } = job.payload as ReadJob;
      if (event.channel === 'tiktok') {
        // TikTok reads are a watermark over the whole conversation (tiktok-messaging.md key fact 34).
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
