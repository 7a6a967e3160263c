/**
 * The composition root: builds the clients, intakes, job routes and HTTP app from one Config, over the channel
 * registry. `composeBridge` is runtime-neutral (the Node server and the Lambda entries share it); `createBridge`
 * adds what the Node profile needs: a store engine opened from `store:`, the pull worker and the purge timer.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Hono } from 'hono';
import { CHANNELS } from './channels/index.js';
import type { Config } from './config/index.js';
import type { ChannelModule, ConnectionDirectory, LinkedConnection } from './core/channel.js';
import { systemClock, type Clock } from './core/clock.js';
import type { JobRoute } from './core/jobs.js';
import type { Backlog, Conversations, DeadLetters, Inbox, JobSink, Locks, Maintenance, Pauses, Records, Store } from './core/store.js';
import { createGenesysAttachments, GENESYS_MEDIA_PLATFORM } from './genesys/attachments.js';
import { GenesysTokenProvider } from './genesys/auth.js';
import { GenesysClient } from './genesys/client.js';
import { genesysPauseKey } from './genesys/errors.js';
import { checkReadiness, type Readiness } from './http/admin.js';
import { createHttpApp } from './http/app.js';
import { createChannelIntake } from './intake/channel-intake.js';
import { GenesysIntake } from './intake/genesys-intake.js';
import { RefusalLog } from './intake/refusal-log.js';
import { createJobRoutes } from './jobs/index.js';
import type { Logger } from './logger.js';
import { MediaProxy } from './media/proxy.js';
import { createMetrics, type Metrics } from './metrics.js';
import { parseAllowedOrigins } from './net/allowed-origins.js';
import { createMediaFetch, type Resolver } from './net/media-fetch.js';
import { Breakers } from './queue/breaker.js';
import { Worker } from './queue/worker.js';
import { openStore } from './store/open.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const PURGE_EVERY_MS = 60 * 60 * 1000;
/** Due work may wait this long (at least two leases) with no job settled before the process is not ready. */
const STALL_MIN_MS = 60_000;

/** Every store role but the pull side of the queue, which only the Node worker uses. */
export interface BridgeStore extends Inbox, JobSink, Conversations, Records, Locks, Pauses, Maintenance {}

export interface ComposeOptions {
  config: Config;
  logger: Logger;
  store: BridgeStore;
  clock?: Clock;
  /** The channel registry (src/channels/index.ts); tests pass their own. */
  channels?: readonly ChannelModule[];
  metrics?: Metrics;
  /** The admin API's operations, where the store keeps dead letters (`admin.token` turns the API on). */
  operations?: DeadLetters & Backlog;
  readiness?: () => Promise<Readiness>;
  /** How media hosts are resolved (the system resolver by default); tests pass one that never reaches real DNS. */
  resolveHost?: Resolver;
}

export interface ComposedBridge {
  app: Hono;
  /** Every job kind with its handler, for the queue's consumers. */
  routes: ReadonlyMap<string, JobRoute>;
  metrics: Metrics;
  connections: ConnectionDirectory;
  /** Writes the refusals counted since the last line. */
  close(): void;
  /** What wakes the consumer after jobs were stored (the Node worker); nothing by default. */
  onEnqueued(listener: () => void): void;
}

export function composeBridge(opts: ComposeOptions): ComposedBridge {
  const { config, logger, store } = opts;
  const clock = opts.clock ?? systemClock;
  const metrics = opts.metrics ?? createMetrics({ defaultMetrics: true });
  const channels = opts.channels ?? CHANNELS;

  let listener: () => void = () => undefined;
  const onEnqueued = () => listener();
  // One guarded fetch for every media transfer: the channels', the agents' attachments and /media's.
  const allowed = parseAllowedOrigins(config.media.allowedOrigins);
  const mediaFetch = createMediaFetch({ allowed, ...(opts.resolveHost ? { resolve: opts.resolveHost } : {}) });
  const genesysTokens = new GenesysTokenProvider({ config: config.genesys, clock, metrics, logger });
  const genesys = new GenesysClient({ config: config.genesys, tokens: genesysTokens, metrics, logger, clock });
  const genesysPause = genesysPauseKey(config.genesys.clientId);
  // The key and the proxy exist before the channels connect (their replies may link attachments through /media);
  // the proxy looks a token's source up when the token is used.
  const media = new MediaProxy({
    publicUrl: config.server.publicUrl ?? `http://${config.server.host}:${config.server.port}`,
    key: mediaSigningKey(config, channels),
    sources: (connectionId, reference) => {
      const linked = connections.get(connectionId);
      if (!linked) return undefined;
      return reference.platform === GENESYS_MEDIA_PLATFORM ? attachments.source : linked.clients.media;
    },
    clock,
    logger,
    metrics,
  });
  const attachments = createGenesysAttachments({
    downloadsBaseUrl: config.genesys.downloadsBaseUrl,
    allowed,
    tokens: genesysTokens,
    mediaFetch,
    mediaUrl: (connectionId, reference) => media.urlFor(connectionId, reference),
    metrics,
    logger,
  });
  const connections = linkConnections(channels, config, { store, clock, metrics, logger, mediaFetch, attachments: attachments.attachments });
  const routes = createJobRoutes({
    connections,
    store,
    genesys,
    genesysPauseKey: genesysPause,
    mediaUrl: (connectionId, reference) => media.urlFor(connectionId, reference),
    replyDeadlineMs: config.queue.replyDeadlineMs,
    leaseMs: config.queue.leaseMs,
    clock,
    logger,
    metrics,
    onEnqueued,
  });
  const refusals = new RefusalLog({ logger, clock });
  const intakeDeps = { inbox: store, metrics, logger, onEnqueued, clock, refusals };
  const byChannel = new Map<ChannelModule, LinkedConnection['connection'][]>();
  for (const { channel, connection } of connections.values()) byChannel.set(channel, [...(byChannel.get(channel) ?? []), connection]);
  const app = createHttpApp({
    channels: [...byChannel].map(([channel, list]) => createChannelIntake(channel, list, intakeDeps)),
    genesys: new GenesysIntake({ ...intakeDeps, connections }),
    media,
    metrics,
    logger,
    bodyLimitBytes: config.server.bodyLimitBytes,
    ...(config.admin.token ? { admin: { token: config.admin.token, ...(opts.operations ? { operations: opts.operations } : {}) } } : {}),
    ...(opts.readiness ? { readiness: opts.readiness } : {}),
  });
  return {
    app,
    routes,
    metrics,
    connections,
    close: () => refusals.close(),
    onEnqueued(next) {
      listener = next;
    },
  };
}

/** Each configured connection with its channel module and the clients that module builds for it. */
function linkConnections(
  channels: readonly ChannelModule[],
  config: Config,
  deps: Parameters<ChannelModule['connect']>[1],
): ConnectionDirectory {
  const byName = new Map(channels.map((channel) => [channel.name, channel]));
  return new Map(
    config.connections.map((connection) => {
      const channel = byName.get(connection.channel);
      if (!channel) throw new Error(`connection "${connection.id}": no channel module "${connection.channel}" is registered`);
      return [connection.id, { connection, channel, clients: channel.connect(connection, deps) }];
    }),
  );
}

/**
 * The key that signs media links. Every instance must use the same one: the configured key, else one derived from
 * secrets every instance shares already (each channel module with media names its own). Without such a channel
 * there is no media to proxy and any key will do.
 */
function mediaSigningKey(config: Config, channels: readonly ChannelModule[]): Uint8Array {
  if (config.server.mediaSigningKey) return Buffer.from(config.server.mediaSigningKey);
  const byName = new Map(channels.map((channel) => [channel.name, channel]));
  const secrets = config.connections.flatMap((connection) => byName.get(connection.channel)?.mediaKeyMaterial?.(connection) ?? []).sort();
  return createHash('sha256').update(`dmbridge media links\0${secrets.join('\0')}`).digest();
}

export interface BridgeOptions {
  config: Config;
  logger: Logger;
  clock?: Clock;
  /** Run the delivery worker in this process (default true). */
  worker?: boolean;
  channels?: readonly ChannelModule[];
  resolveHost?: Resolver;
}

export interface Bridge {
  app: Hono;
  store: Store;
  metrics: Metrics;
  worker: Worker;
  start(): void;
  stop(): Promise<void>;
}

/** The Node profile: the store engine `store:` names, the pull worker, and an hourly purge. */
export async function createBridge(opts: BridgeOptions): Promise<Bridge> {
  const { config, logger } = opts;
  const clock = opts.clock ?? systemClock;
  const store = await openStore(config.store, { clock, postgres: config.postgres, logger });
  const runsWorker = opts.worker !== false;
  const readiness = () =>
    checkReadiness({
      store,
      clock,
      ...(runsWorker ? { lastProgressAt: () => worker.lastProgressAt } : {}),
      stallMs: Math.max(STALL_MIN_MS, 2 * config.queue.leaseMs),
    });
  const composed = composeBridge({ config, logger, store, clock, operations: store, readiness,
    ...(opts.channels ? { channels: opts.channels } : {}),
    ...(opts.resolveHost ? { resolveHost: opts.resolveHost } : {}),
  });
  const { metrics } = composed;
  const owner = `dmbridge-${randomUUID()}`;
  const breakers = new Breakers({ store, clock, instanceId: owner, logger });
  const worker = new Worker({ store, routes: composed.routes, breakers, owner, ...config.queue, clock, logger, metrics });
  composed.onEnqueued(() => worker.notify());
  metrics.observeBacklog(async () => {
    const b = await store.backlog();
    const age = b.oldestPendingAt === undefined ? 0 : Math.max(0, clock() - b.oldestPendingAt) / 1000;
    return { pending: b.pending, oldestPendingAgeSeconds: age, dead: b.dead, paused: b.paused };
  });

  let purgeTimer: NodeJS.Timeout | undefined;
  const upkeep = async () => {
    for (const [connectionId, { clients }] of composed.connections) {
      await clients.upkeep?.().catch((err: unknown) => logger.error({ err, connectionId }, 'connection upkeep failed'));
    }
  };
  const purge = async () => {
    const now = clock();
    try {
      const purged = await store.purge({ dedupeBefore: now - config.dedupeRetentionDays * DAY_MS, doneBefore: now - DAY_MS });
      logger.info(purged, 'purged expired dedupe keys and finished jobs');
    } catch (err) {
      logger.error({ err }, 'purge failed');
    }
  };

  return {
    app: composed.app,
    store,
    metrics,
    worker,
    start() {
      if (runsWorker) worker.start();
      purgeTimer = setInterval(() => void purge().then(upkeep), PURGE_EVERY_MS);
      purgeTimer.unref();
    },
    async stop() {
      clearInterval(purgeTimer);
      composed.close();
      await worker.stop();
      await store.close();
    },
  };
}
