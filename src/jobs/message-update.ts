/**
 * An event that changes one of the customer's earlier messages but does not say who the customer is (a platform's
 * edit that names only the message): the customer is found from the bridge's record of the messages it delivered
 * (./links.ts, CUSTOMER_MESSAGE), then the event is delivered like any other, in that customer's conversation.
 * The original may still be on its way (the two can be handled at the same time): the lookup is retried a few
 * times, then the event is skipped and counted — it is about a message the bridge never delivered or forgot.
 */
import { z } from 'zod';
import { RetryableError } from '../core/errors.js';
import type { InboundMessageUpdate } from '../core/events.js';
import type { JobHandler } from '../core/jobs.js';
import type { JobSink, NewJob, Records } from '../core/store.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { genesysInbound } from './genesys-inbound.js';
import { defineJobKind, type PayloadOf } from './kinds.js';
import { CUSTOMER_MESSAGE, type CustomerOfMessage } from './links.js';
import { inboundUpdateSchema } from './payloads.js';

export const messageUpdateJobKind = defineJobKind('platform.message-update', 1, z.object({ connectionId: z.string(), event: inboundUpdateSchema }));
export type MessageUpdatePayload = PayloadOf<typeof messageUpdateJobKind>;

const LOOKUP_ATTEMPTS = 4;

/** Its own dedupe key: the event's is the one of the delivery it becomes. */
export function messageUpdateJob(connectionId: string, event: InboundMessageUpdate): NewJob {
  return messageUpdateJobKind.job(
    { connectionId, event },
    { dedupeKey: `${event.dedupeKey}#update`, conversationKey: `update:${connectionId}:${event.refersTo}` },
  );
}

export function createMessageUpdateHandler(deps: { store: Records & JobSink; logger: Logger; metrics: Metrics; onEnqueued: () => void }): JobHandler<MessageUpdatePayload> {
  return {
    async run({ connectionId, event }, job) {
      const known = await deps.store.getRecord<CustomerOfMessage>(CUSTOMER_MESSAGE, `${connectionId}:${event.refersTo}`);
      if (!known) {
        if (job.attempts + 1 < LOOKUP_ATTEMPTS) throw new RetryableError('the message this event changes has not been delivered yet');
        deps.metrics.eventsSkipped.inc({ channel: event.channel, reason: 'update_unknown_message' });
        deps.logger.info({ connectionId, subtype: event.subtype }, 'an event about a message the bridge does not know was skipped');
        return;
      }
      const { kind: _update, ...message } = event;
      await deps.store.enqueue([genesysInbound(connectionId, { ...message, kind: 'message', customerId: known.customerId })]);
      deps.onEnqueued();
    },
  };
}
