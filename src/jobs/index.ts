/** Every job kind with its handler: what the queue's consumers run (src/queue/run-job.ts). */
import type { ConnectionDirectory } from '../core/channel.js';
import type { Clock } from '../core/clock.js';
import type { MediaReference } from '../core/events.js';
import { jobRoute, type JobRoute } from '../core/jobs.js';
import type { Conversations, JobSink, Pauses, Records } from '../core/store.js';
import type { GenesysClient } from '../genesys/client.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { echoJobKind, createEchoHandler } from './echo.js';
import { createGenesysInboundHandler, genesysInboundJob } from './genesys-inbound.js';
import { createMessageUpdateHandler, messageUpdateJobKind } from './message-update.js';
import { createProfileLookup } from './profiles.js';
import { createReadHandler, readJobKind } from './read.js';
import { createReceiptHandler, receiptJobKind } from './receipt.js';
import { createReplyHandler, replyJobKind } from './reply.js';

export interface JobDeps {
  connections: ConnectionDirectory;
  store: JobSink & Conversations & Records & Pauses;
  genesys: GenesysClient;
  /** Every job that calls Genesys waits out a rate limit of its OAuth client. */
  genesysPauseKey: string;
  /** The bridge URL Genesys fetches platform-authenticated media from. */
  mediaUrl: (connectionId: string, reference: MediaReference) => string;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  /** Called after a job enqueued follow-up jobs (receipts), to wake the worker. */
  onEnqueued: () => void;
  /** How long an agent reply may stay undelivered before its Failed receipt (`queue.replyDeadlineMs`). */
  replyDeadlineMs: number;
  /** How long a job is leased for when it runs (`queue.leaseMs`). */
  leaseMs: number;
}

export function createJobRoutes(deps: JobDeps): ReadonlyMap<string, JobRoute> {
  const { connections, store, genesys, genesysPauseKey: pauseKey, clock, logger, metrics } = deps;
  const fetchers = new Map(
    [...connections].flatMap(([id, { clients }]) => (clients.profile ? [[id, clients.profile.bind(clients)] as const] : [])),
  );
  const profiles = createProfileLookup({ store, clock, logger, fetchers });
  const routes = [
    jobRoute(genesysInboundJob, createGenesysInboundHandler({ connections, client: genesys, store, clock, profiles, mediaUrl: deps.mediaUrl, pauseKey, logger })),
    jobRoute(replyJobKind, createReplyHandler({ store, connections, clock, logger, metrics, onEnqueued: deps.onEnqueued, deadlineMs: deps.replyDeadlineMs, leaseMs: deps.leaseMs })),
    jobRoute(receiptJobKind, createReceiptHandler({ connections, client: genesys, pauseKey })),
    jobRoute(echoJobKind, createEchoHandler({ store, connections, genesys, clock, logger, metrics, genesysPauseKey: pauseKey })),
    jobRoute(readJobKind, createReadHandler({ store, connections, logger, metrics })),
    jobRoute(messageUpdateJobKind, createMessageUpdateHandler({ store, logger, metrics, onEnqueued: deps.onEnqueued })),
  ];
  return new Map(routes.map((route) => [route.kind.kind, route]));
}
