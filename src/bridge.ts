/**
 * The composition root: builds the store, clients, intake services, worker and HTTP app from one Config.
 * Entry points (Node server, sandbox, tests, benchmarks) only call createBridge and start/stop it.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Hono } from 'hono';
import type { Config, ConnectionConfig, InstagramConnection, TikTokConnection } from './config.js';
import { TikTokClient } from './channels/tiktok/api-client.js';
import { TikTokTokens } from './channels/tiktok/auth.js';
import { createTikTokReplier } from './channels/tiktok/reply.js';
import type { MediaReference } from './core/events.js';
import { TikTokIntake } from './inbound/tiktok.js';
import { MediaProxy } from './media/proxy.js';
import type { ChannelReplier } from './outbound/reply-job.js';
import { GenesysClient } from './genesys/client.js';
import { genesysPauseKey } from './genesys/errors.js';
import { GraphClient } from './channels/instagram/graph-client.js';
import { createInstagramReplier } from './channels/instagram/reply.js';
import { GENESYS_INBOUND_JOB, createGenesysInboundHandler } from './genesys/inbound-job.js';
import { createProfileLookup } from './inbound/profiles.js';
import { PLATFORM_ECHO_JOB, PLATFORM_READ_JOB, createEchoHandler, createReadHandler } from './outbound/echo-job.js';
import { GenesysIntake } from './outbound/genesys-intake.js';
import { GENESYS_RECEIPT_JOB, createReceiptHandler } from './outbound/receipt-job.js';
import { REPLY_JOB, createReplyHandler } from './outbound/reply-job.js';
import { createHttpApp } from './http/app.js';
import { InstagramIntake } from './inbound/instagram.js';
import type { Logger } from './logger.js';
import { createMetrics, type Metrics } from './metrics.js';
import { Worker } from './queue/worker.js';
import { openStore } from './store/open.js';
import { systemClock, type Clock, type Store } from './store/store.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const PURGE_EVERY_MS = 60 * 60 * 1000;

export interface BridgeOptions {
  config: Config;
  logger: Logger;
  clock?: Clock;
  /** Run the delivery worker in this process (default true). */
  worker?: boolean;
}

export interface Bridge {
  app: Hono;
  store: Store;
  metrics: Metrics;
  worker: Worker;
  start(): void;
  stop(): Promise<void>;
}

export async function createBridge(opts: BridgeOptions): Promise<Bridge> {
  const { config, logger } = opts;
  const clock = opts.clock ?? systemClock;
  const metrics = createMetrics({ defaultMetrics: true });
  const store = await openStore(config.store, { clock, postgres: config.postgres });

  const genesys = new GenesysClient({ config: config.genesys, metrics, logger, clock });
  const genesysPause = genesysPauseKey(config.genesys.clientId);
  const instagramConnections = config.connections.filter((c): c is InstagramConnection => c.channel === 'instagram');
  const graphClients = new Map(
    instagramConnections.map((connection) => [
      connection.id,
      new GraphClient({ connection, metrics, logger, clock }),
    ]),
  );
  const profiles = createProfileLookup({
    store,
    clock,
    logger,
    fetchers: new Map([...graphClients].map(([id, graph]) => [id, (customerId: string) => graph.getProfile(customerId)])),
  });
  const tiktokConnections = config.connections.filter((c): c is TikTokConnection => c.channel === 'tiktok');
  const tiktokClients = new Map(
    tiktokConnections.map((connection) => {
      const tokens = new TikTokTokens({
        connection,
        store,
        clock,
        metrics,
        logger,
            onReauthorizationRequired: (id) => metrics.reauthorizationRequired.set({ connection: id }, 1),
      });
      return [connection.id, new TikTokClient({ connection, tokens, clock, metrics, logger })];
    }),
  );
  const media = new MediaProxy({
    publicUrl: config.server.publicUrl ?? `http://${config.server.host}:${config.server.port}`,
    key: mediaSigningKey(config),
    sources: new Map(
      [...tiktokClients].map(([id, client]) => [id, async (reference: MediaReference) => client.fetchMedia(await client.mediaDownloadUrl(reference))]),
    ),
    clock,
    logger,
    metrics,
  });
  const repliers = new Map<string, { connection: ConnectionConfig; replier: ChannelReplier }>([
    ...instagramConnections.map((connection) => [connection.id, { connection, replier: createInstagramReplier(connection, graphClients.get(connection.id)!) }] as const),
    ...tiktokConnections.map((connection) => [connection.id, { connection, replier: createTikTokReplier(connection, tiktokClients.get(connection.id)!) }] as const),
  ]);

  // Wakes the worker when jobs were stored; only ever called after the worker below exists.
  const onEnqueued = () => worker.notify();
  const worker = new Worker({
    store,
    owner: `dmbridge-${randomUUID()}`,
    handlers: {
      [GENESYS_INBOUND_JOB]: createGenesysInboundHandler({
        connections: config.connections,
        client: genesys,
        store,
        clock,
        profiles,
        mediaUrl: (connectionId, reference) => media.urlFor(connectionId, reference),
        pauseKey: genesysPause,
      }),
      [REPLY_JOB]: createReplyHandler({ store, repliers, clock, logger, metrics, onEnqueued }),
      [GENESYS_RECEIPT_JOB]: createReceiptHandler({ connections: config.connections, client: genesys, pauseKey: genesysPause }),
      [PLATFORM_ECHO_JOB]: createEchoHandler({ store, connections: config.connections, genesys, clock, logger, metrics, genesysPauseKey: genesysPause }),
      [PLATFORM_READ_JOB]: createReadHandler({ store, logger, metrics }),
    },
    ...config.queue,
    clock,
    logger,
    metrics,
  });
  const instagram = new InstagramIntake({ connections: instagramConnections, store, metrics, logger, onEnqueued });
  const tiktok = new TikTokIntake({ connections: tiktokConnections, store, metrics, logger, clock, onEnqueued });
  const genesysIntake = new GenesysIntake({ connections: config.connections, store, metrics, logger, clock, onEnqueued });
  const app = createHttpApp({ instagram, tiktok, genesys: genesysIntake, media, metrics, logger, bodyLimitBytes: config.server.bodyLimitBytes });

  let purgeTimer: NodeJS.Timeout | undefined;
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
    app,
    store,
    metrics,
    worker,
    start() {
      if (opts.worker !== false) worker.start();
      purgeTimer = setInterval(() => void purge(), PURGE_EVERY_MS);
      purgeTimer.unref();
    },
    async stop() {
      clearInterval(purgeTimer);
      await worker.stop();
      await store.close();
    },
  };
}

/**
 * The key that signs media links. Every instance must use the same one: the configured key, else one derived
 * from the TikTok connections' app secrets (shared by every instance already). Without TikTok there is no
 * media to proxy and any key will do.
 */
function mediaSigningKey(config: Config): Uint8Array {
  if (config.server.mediaSigningKey) return Buffer.from(config.server.mediaSigningKey);
  const secrets = config.connections.flatMap((c) => (c.channel === 'tiktok' ? [c.appSecret] : [])).sort();
  return createHash('sha256').update(`dmbridge media links\0${secrets.join('\0')}`).digest();
}
