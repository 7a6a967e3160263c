/**
 * Routed customer events → what the inbox stores for them: a Genesys delivery job per customer message (with the
 * customer-message fact that moves the reply window), and an echo or read job in the reply queue for what the
 * platform says about messages sent to the customer (they must run after the replies they refer to), and a lookup
 * job for an event that names only one of the customer's messages.
 */
import { conversationKey } from '../core/conversation.js';
import type { InboundEvent } from '../core/events.js';
import type { CustomerMessageFact, InboxBatch, NewJob } from '../core/store.js';
import { echoJob } from '../jobs/echo.js';
import { genesysInbound } from '../jobs/genesys-inbound.js';
import { messageUpdateJob } from '../jobs/message-update.js';
import { readJob } from '../jobs/read.js';

export function inboundBatch(routed: ReadonlyArray<{ connectionId: string; event: InboundEvent }>): InboxBatch {
  const jobs: NewJob[] = [];
  const customerMessages: CustomerMessageFact[] = [];
  for (const { connectionId, event } of routed) {
    if (event.kind === 'echo') jobs.push(echoJob(connectionId, event));
    else if (event.kind === 'read') jobs.push(readJob(connectionId, event));
    else if (event.kind === 'update') jobs.push(messageUpdateJob(connectionId, event));
    else {
      jobs.push(genesysInbound(connectionId, event));
      if (event.opensWindow) {
        const key = conversationKey(connectionId, event.customerId);
        customerMessages.push({ conversationKey: key, at: event.timestamp, ...(event.threadId ? { threadId: event.threadId } : {}) });
      }
    }
  }
  return { jobs, customerMessages };
}
