/**
 * Runs a bridge behind @hono/node-server until SIGINT/SIGTERM, then drains: stop accepting, finish in-flight
 * requests and jobs, close the store.
 */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { createBridge, type Bridge, type BridgeOptions } from '../bridge.js';

export interface RunningServer {
  bridge: Bridge;
  url: string;
  close(): Promise<void>;
}

export async function startServer(opts: BridgeOptions): Promise<RunningServer> {
  const { config, logger } = opts;
  const bridge = await createBridge(opts);
  const server = serve({
    fetch: bridge.app.fetch,
    hostname: config.server.host,
    port: config.server.port,
    // Slow clients (slowloris) are cut off instead of holding sockets forever.
    serverOptions: {
      requestTimeout: config.server.requestTimeoutMs,
      headersTimeout: Math.min(config.server.requestTimeoutMs, 60_000),
      // Node checks those timeouts only this often (30 s by default).
      connectionsCheckingInterval: Math.min(1000, config.server.requestTimeoutMs),
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.server.host}:${port}`;
  bridge.start();
  logger.info({ url, store: config.store.replace(/\/\/[^@]*@/, '//***@'), connections: config.connections.map((c) => c.id) }, 'dmbridge listening');

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await bridge.stop();
    })());
  return { bridge, url, close };
}

/** Stops the server cleanly on the first SIGINT/SIGTERM; a second one exits at once. */
export function closeOnSignals(running: { close(): Promise<void> }, logger: BridgeOptions['logger']): void {
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) process.exit(130);
    signalled = true;
    logger.info({ signal }, 'shutting down');
    running.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
}
