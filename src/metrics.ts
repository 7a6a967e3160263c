/**
 * Prometheus metrics (prom-client), one registry per bridge instance so tests can run several side by side.
 * Served on GET /metrics.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** What the backlog gauges show, read from the store when /metrics is scraped. */
export interface BacklogGauges {
  pending: number;
  oldestPendingAgeSeconds: number;
  dead: number;
  paused: number;
}

export function createMetrics(opts: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (opts.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'dmbridge_' });
  let backlog: (() => Promise<BacklogGauges>) | undefined;
  // One store read per scrape, shared by the four gauges; a failed read leaves them as they were.
  let lastRead: { at: number; value: Promise<BacklogGauges | undefined> } | undefined;
  const readBacklog = () => {
    if (!backlog) return Promise.resolve(undefined);
    if (!lastRead || Date.now() - lastRead.at > 1000) lastRead = { at: Date.now(), value: backlog().catch(() => undefined) };
    return lastRead.value;
  };
  const backlogGauge = (name: string, help: string, pick: (b: BacklogGauges) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        const value = await readBacklog();
        if (value) this.set(pick(value));
      },
    });
  return {
    registry,
    /** Makes the backlog gauges read this source when scraped. */
    observeBacklog(source: () => Promise<BacklogGauges>): void {
      backlog = source;
    },
    jobsPending: backlogGauge('dmbridge_jobs_pending', 'Jobs not yet done (waiting or running)', (b) => b.pending),
    oldestPendingAge: backlogGauge('dmbridge_oldest_pending_job_age_seconds', 'Age of the oldest job not yet done (0 when none)', (b) => b.oldestPendingAgeSeconds),
    jobsDead: backlogGauge('dmbridge_jobs_dead', 'Dead-lettered jobs an operator must look at (dmbridge dead list)', (b) => b.dead),
    pausedTargets: backlogGauge('dmbridge_paused_targets', 'Accounts and clients paused now (rate limits)', (b) => b.paused),
    /** Webhook requests by route and outcome (`accepted`, `duplicate`, `rejected_signature` …). */
    webhooks: new Counter({
      name: 'dmbridge_webhooks_total',
      help: 'Webhook requests received, by route and outcome',
      labelNames: ['route', 'outcome'] as const,
      registers: [registry],
    }),
    /** Webhook items deliberately not forwarded (echoes of our sends, dashboard tests, standby …). */
    eventsSkipped: new Counter({
      name: 'dmbridge_events_skipped_total',
      help: 'Webhook items not forwarded to Genesys, by channel and reason',
      labelNames: ['channel', 'reason'] as const,
      registers: [registry],
    }),
    /** Settled jobs: `done`, `retry`, `paused`, `dead`. */
    jobs: new Counter({
      name: 'dmbridge_jobs_total',
      help: 'Job runs by kind and outcome',
      labelNames: ['kind', 'outcome'] as const,
      registers: [registry],
    }),
    /** Calls to other services by target (`genesys` or a channel's name) and HTTP status (or `timeout`/`network`). */
    outboundRequests: new Counter({
      name: 'dmbridge_outbound_requests_total',
      help: 'HTTP calls made to other services, by target, operation and status',
      labelNames: ['target', 'operation', 'status'] as const,
      registers: [registry],
    }),
    /** Correctly signed deliveries signed long before they arrived: the platform's retries after an outage. */
    lateDeliveries: new Counter({
      name: 'dmbridge_webhook_late_deliveries_total',
      help: 'Webhook deliveries accepted although signed more than 5 minutes before they arrived (platform retries), by route',
      labelNames: ['route'] as const,
      registers: [registry],
    }),
    /** Events whose platform time lay outside the sane range around their arrival: the arrival time was used. */
    eventTimesClamped: new Counter({
      name: 'dmbridge_event_times_clamped_total',
      help: 'Webhook events whose timestamp was implausible (far past or future) and was replaced by the arrival time, by channel',
      labelNames: ['channel'] as const,
      registers: [registry],
    }),
    /** When a connection's current access token expires, where the platform says (tokens the bridge renews). */
    accessTokenExpiresAt: new Gauge({
      name: 'dmbridge_access_token_expires_at_seconds',
      help: "Expiry of a connection's current platform access token, as a Unix time in seconds",
      labelNames: ['connection'] as const,
      registers: [registry],
    }),
    /** 1 while a connection's platform refuses the bridge's refresh token: an administrator must act. */
    reauthorizationRequired: new Gauge({
      name: 'dmbridge_reauthorization_required',
      help: 'Connections whose platform authorization must be renewed by an administrator (1 = required)',
      labelNames: ['connection'] as const,
      registers: [registry],
    }),
    jobLatency: new Histogram({
      name: 'dmbridge_job_latency_seconds',
      help: 'Time from enqueue to successful completion, by kind',
      labelNames: ['kind'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
