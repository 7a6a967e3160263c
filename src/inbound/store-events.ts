/**
 * The common end of every platform's webhook intake: turn routed events into jobs, store them together with
 * the customers' reply-window times in one durable transaction, and only then acknowledge.
 */
import { conversationKey } from '../core/conversation.js';
import type { InboundEvent, InboundMessage } from '../core/events.js';
import { GENESYS_INBOUND_JOB, type GenesysInboundJob } from '../genesys/inbound-job.js';
import { refuse } from '../http/refuse.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { echoOrReadJob } from '../outbound/echo-job.js';
import type { NewJob, Store } from '../store/store.js';

export interface IntakeDeps {
  store: Store;
  metrics: Metrics;
  logger: Logger;
  /** Called after jobs were stored, to wake the worker. */
  onEnqueued: () => void;
}

/**
 * Stores the events (each already routed to its connection id) and answers: `ack()` once they are durable,
 * 503 when they could not be stored, so the platform delivers them again.
 */
export async function storeRoutedEvents(
  deps: IntakeDeps,
  route: string,
  routed: ReadonlyArray<{ connectionId: string; event: InboundEvent }>,
  ack: () => Response,
): Promise<Response> {
  const jobs: NewJob[] = [];
  const customerMessages: Array<{ key: string; at: number; threadId?: string }> = [];
  for (const { connectionId, event } of routed) {
    if (event.kind !== 'message') {
      // Echoes and reads concern messages sent to the customer: they queue behind the replies.
      jobs.push(echoOrReadJob(connectionId, event));
      continue;
    }
    jobs.push(genesysJob(connectionId, event));
    if (event.opensWindow) {
      customerMessages.push({ key: conversationKey(connectionId, event.customerId), at: event.timestamp, ...(event.threadId ? { threadId: event.threadId } : {}) });
    }
  }
  if (jobs.length === 0) {
    deps.metrics.webhooks.inc({ route, outcome: 'nothing_to_store' });
    return ack();
  }
  try {
    // Called in the same turn, so the store commits the window times and the jobs in one transaction.
    const windows = customerMessages.map((m) => deps.store.recordCustomerMessage(m.key, m.at, m.threadId));
    const [result] = await Promise.all([deps.store.enqueue(jobs), ...windows]);
    deps.metrics.webhooks.inc({ route, outcome: result.accepted > 0 ? 'accepted' : 'duplicate' });
    if (result.accepted > 0) deps.onEnqueued();
  } catch (err) {
    deps.metrics.webhooks.inc({ route, outcome: 'store_unavailable' });
    deps.logger.error({ route, err }, 'could not store webhook events');
    return refuse('STORE_UNAVAILABLE', 'events could not be stored; retry later');
  }
  return ack();
}

function genesysJob(connectionId: string, event: InboundMessage): NewJob {
  const payload: GenesysInboundJob = { connectionId, event };
  return { dedupeKey: event.dedupeKey, conversationKey: conversationKey(connectionId, event.customerId), kind: GENESYS_INBOUND_JOB, payload };
}
