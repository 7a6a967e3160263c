/**
 * The platform's echoes of messages sent to the customer. These jobs run in the customer's reply queue, after any
 * reply enqueued before them, so the send an echo refers to has already recorded its platform message id (a
 * platform may deliver the echo before its send call returns; the channel READMEs say which do).
 *
 * - An echo of our own reply is dropped: forwarding it would show the agent their own words as the customer's,
 *   and a loop would follow (genesys-open-messaging.md key fact 30).
 * - An echo of a message the brand sent from the platform's own app is recorded, and shown to the agent as a
 *   note when the connection has `forwardAppReplies`, so the transcript stays complete.
 */
import { z } from 'zod';
import type { ConnectionDirectory } from '../core/channel.js';
import type { Clock } from '../core/clock.js';
import { replyQueueKey } from '../core/conversation.js';
import type { InboundEcho } from '../core/events.js';
import type { JobHandler } from '../core/jobs.js';
import type { NewJob, Records } from '../core/store.js';
import type { GenesysClient } from '../genesys/client.js';
import { buildGenesysInboundMessage } from '../genesys/translate.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { defineJobKind, type PayloadOf } from './kinds.js';
import { PLATFORM_MESSAGE, linkTtlMs, type PlatformMessageLink } from './links.js';
import { inboundEchoSchema } from './payloads.js';

/**
 * The note arrives in Genesys as the customer's message would (Open Messaging has no other way in), so it must be
 * unmistakable: a marker first in the text, and an attribute Architect tests to skip routing (docs/genesys-setup.md).
 */
export const BRAND_MARKER = '[Not from the customer]';
const BRAND_ATTRIBUTES = { 'dmbridge.note': 'app_reply', 'dmbridge.fromBrand': 'true' };

export const echoJobKind = defineJobKind('platform.echo', 1, z.object({ connectionId: z.string(), event: inboundEchoSchema }));
export type EchoPayload = PayloadOf<typeof echoJobKind>;

export function echoJob(connectionId: string, event: InboundEcho): NewJob {
  return echoJobKind.job({ connectionId, event }, { dedupeKey: event.dedupeKey, conversationKey: replyQueueKey(connectionId, event.customerId) });
}

export function createEchoHandler(deps: {
  store: Records;
  connections: ConnectionDirectory;
  genesys: GenesysClient;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  /** Genesys rate-limit pause key: app replies forwarded as notes are Genesys calls. */
  genesysPauseKey: string;
}): JobHandler<EchoPayload> {
  return {
    pauseKeys: () => [deps.genesysPauseKey],
    async run({ connectionId, event }) {
      const key = `${connectionId}:${event.messageId}`;
      const known = await deps.store.getRecord<PlatformMessageLink>(PLATFORM_MESSAGE, key);
      if (known) {
        deps.metrics.eventsSkipped.inc({ channel: event.channel, reason: `echo_${known.origin}` });
        return;
      }
      const linked = deps.connections.get(connectionId);
      const link: PlatformMessageLink = { origin: 'app', snippet: (event.text ?? '').slice(0, 80) };
      await deps.store.putRecord(PLATFORM_MESSAGE, key, link, deps.clock() + linkTtlMs);
      deps.logger.info({ connectionId, messageId: event.messageId }, 'the brand replied from the platform app');
      if (!linked?.connection.forwardAppReplies) {
        deps.metrics.eventsSkipped.inc({ channel: event.channel, reason: 'echo_app' });
        return;
      }
      const { channel, connection } = linked;
      const origin = channel.echoOrigin?.(event) ?? channel.labels.app;
      const what = [event.text?.trim(), event.description].filter((part) => part !== undefined && part !== '').join('\n') || '[no text: media or a sticker]';
      const text = `${BRAND_MARKER} The brand replied from ${origin}: ${what}`;
      const note = buildGenesysInboundMessage(
        { ...event, kind: 'message', subtype: 'app_reply', text, attributes: BRAND_ATTRIBUTES, opensWindow: false },
        { connectionId, source: channel.labels.source },
      );
      await deps.genesys.sendInboundMessage(connection.genesys.integrationId, note);
    },
  };
}
