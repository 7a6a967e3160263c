/**
 * `dmbridge sandbox` (what `npm start` runs): a fake Genesys, the fake platform of every channel that has a sandbox,
 * a bridge wired to them on the sandbox clock, the console (a page and its API) to play the customer and the agent,
 * a demo DM sent through the whole path, and every hop printed as it happens.
 */
import type { Server as HttpServer } from 'node:http';
import { createServer, type Server } from 'node:net';
import { CHANNELS } from '../channels/index.js';
import type { ChannelModule, ChannelSandbox, SandboxFake } from '../core/channel.js';
import { createLogger } from '../logger.js';
import { listenOnLoopback } from '../net/loopback.js';
import { createSandboxClock, type SandboxClock } from '../sandbox/clock.js';
import { SANDBOX, sandboxConfig, sandboxPorts } from '../sandbox/config.js';
import { createConsoleApp, type ConsoleChannel } from '../sandbox/console/app.js';
import { HopLog } from '../sandbox/console/hops.js';
import { playCustomer } from '../sandbox/console/play.js';
import { startFakeGenesys, type FakeGenesys } from '../sandbox/fake-genesys/index.js';
import { startServer } from './server.js';

export interface SandboxOptions {
  /**
   * The bridge listens on this port, the console on +1, the fake Genesys on +2 and each channel's fake on +3, +4, …
   * in registry order (SANDBOX.portBase by default); 0: every server on a free port.
   */
  portBase?: number;
  store?: string;
  logLevel?: string;
  out?: (line: string) => void;
  channels?: readonly ChannelModule[];
  /** Send the demo DM once started (default true). */
  demo?: boolean;
}

export interface RunningSandbox {
  bridgeUrl: string;
  consoleUrl: string;
  genesys: FakeGenesys;
  clock: SandboxClock;
  hops: HopLog;
  /** Each channel's fake platform, by channel name. */
  fakes: ReadonlyMap<string, SandboxFake>;
  close(): Promise<void>;
}

/** A port the sandbox needs is taken: the message is the one line to print. */
export class PortInUseError extends Error {
  override readonly name = 'PortInUseError';
  constructor(
    readonly port: number,
    what: string,
  ) {
    super(`port ${port} (${what}) is already in use on 127.0.0.1: stop what listens there, or choose other ports with --port-base N`);
  }
}

interface PlayableChannel {
  channel: ChannelModule;
  sandbox: ChannelSandbox;
}

/** The channels of the registry that have a sandbox facet, in registry order. */
export async function playableChannels(channels: readonly ChannelModule[] = CHANNELS): Promise<PlayableChannel[]> {
  const found = await Promise.all(channels.map(async (channel) => (channel.sandbox ? { channel, sandbox: await channel.sandbox() } : undefined)));
  return found.filter((p): p is PlayableChannel => p !== undefined);
}

export async function runSandbox(opts: SandboxOptions = {}): Promise<RunningSandbox> {
  const out = opts.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const channels = opts.channels ?? CHANNELS;
  const playable = await playableChannels(channels);
  const planned = sandboxPorts(opts.portBase ?? SANDBOX.portBase, playable.map((p) => p.channel.labels.platform));
  if (planned.bridge !== 0) await ensureFree(planned.all);
  // The bridge's and the console's origins are in the configuration (media links, the customer's pictures).
  const ports = planned.bridge === 0 ? { ...planned, bridge: await freePort(), console: await freePort() } : planned;

  const clock = createSandboxClock();
  const closers: Array<() => Promise<void>> = [];
  const closeAll = async () => {
    for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
  };
  try {
    const genesys = await startFakeGenesys({
      port: ports.genesys,
      storagePort: ports.genesysStorage,
      clientId: SANDBOX.genesysClientId,
      clientSecret: SANDBOX.genesysClientSecret,
      integrationIds: playable.map((p) => p.sandbox.integrationId),
    });
    closers.push(() => genesys.close());
    // The bridge's port must be known before it starts: it is in the media links it hands out, and the fakes post
    // their echoes to it.
    const bridgeUrl = `http://127.0.0.1:${ports.bridge}`;
    const fakes = new Map<string, SandboxFake>();
    for (const [i, { channel, sandbox }] of playable.entries()) {
      const fake = await sandbox.startFake({ port: ports.channels[i]!, bridgeUrl, clock: clock.now });
      closers.push(() => fake.close());
      fakes.set(channel.name, fake);
    }
    const logLevel = opts.logLevel ?? 'warn';
    const config = sandboxConfig(
      {
        bridgePort: ports.bridge,
        genesysUrl: genesys.url,
        mediaOrigins: [genesys.url, genesys.storageUrl, `http://127.0.0.1:${ports.console}`, ...[...fakes.values()].map((fake) => fake.url)],
        connections: playable.map(({ channel, sandbox }) => sandbox.connection(fakes.get(channel.name)!.url)),
        channels,
      },
      opts.store ?? 'sqlite:./data/sandbox.db',
      logLevel,
    );
    const running = await startServer({ config, logger: createLogger(logLevel), channels, clock: clock.now });
    closers.push(() => running.close());

    const consoleChannels: ConsoleChannel[] = playable.map(({ channel, sandbox }) => ({
      channel,
      sandbox,
      fake: fakes.get(channel.name)!,
      connection: config.connections.find((c) => c.id === sandbox.connectionId)!,
    }));
    const hops = new HopLog({ clock, genesys, channels: consoleChannels, print: out });
    const app = createConsoleApp({ bridgeUrl: running.url, clock, genesys, hops, channels: consoleChannels, store: running.bridge.store, metrics: running.bridge.metrics });
    const consoleServer = await listenOnLoopback(app, ports.console);
    closers.push(() => closeServer(consoleServer.server));
    const timer = setInterval(() => hops.collect(), 100);
    timer.unref();
    closers.push(async () => clearInterval(timer));

    out(banner({ bridgeUrl: running.url, consoleUrl: consoleServer.origin, genesysUrl: genesys.url }, playable, fakes));
    const first = consoleChannels[0];
    if (first && opts.demo !== false) {
      const demo = { action: 'send', text: 'Hi! Is my order on its way? (demo DM sent by the sandbox)' };
      await playCustomer({ bridgeUrl: running.url, clock, genesys, hops }, first, demo);
    }
    return { bridgeUrl: running.url, consoleUrl: consoleServer.origin, genesys, clock, hops, fakes, close: closeAll };
  } catch (err) {
    await closeAll();
    const port = (err as NodeJS.ErrnoException & { port?: number }).code === 'EADDRINUSE' ? (err as { port?: number }).port : undefined;
    const what = port === undefined ? undefined : planned.all.find((p) => p.port === port)?.what;
    throw port !== undefined && what !== undefined ? new PortInUseError(port, what) : err;
  }
}

function banner(urls: { bridgeUrl: string; consoleUrl: string; genesysUrl: string }, playable: PlayableChannel[], fakes: ReadonlyMap<string, SandboxFake>): string {
  const flag = (i: number, channel: ChannelModule) => (i === 0 ? '' : ` --${channel.name}`);
  const routes = playable.map(({ channel }) => `POST ${channel.webhook.path}`).join(', ');
  return [
    '',
    'dmbridge sandbox: nothing here talks to a real platform or to Genesys; every server is a local fake.',
    '',
    `  console          ${urls.consoleUrl}/   open it: the customer's phone beside the agent's Genesys, every hop`,
    '',
    `  bridge           ${urls.bridgeUrl}   ${routes}, POST /webhooks/genesys/<connection>, GET /healthz, GET /metrics`,
    `  fake Genesys     ${urls.genesysUrl}   GET /sandbox/messages and /sandbox/receipts: what agents received`,
    ...playable.map(({ channel }) => `  fake ${channel.labels.platform.padEnd(11)} ${fakes.get(channel.name)!.url}`),
    '',
    'Or play the customer from another terminal:',
    ...playable.flatMap(({ channel, sandbox }, i) => [
      `  npm run dmbridge -- sandbox send${flag(i, channel)} "Hi, where is my order?"`,
      ...Object.entries(sandbox.actions ?? {}).map(([name, action]) => `  ${`npm run dmbridge -- sandbox ${name}${flag(i, channel)}`.padEnd(58)} (${action.help})`),
    ]),
    'and the agent:',
    ...playable.map(({ channel }, i) => `  npm run dmbridge -- sandbox reply${flag(i, channel)} "Your parcel ships today."`),
    `  ${'npm run dmbridge -- sandbox clock --advance 25h'.padEnd(58)} (let time pass: reply windows close)`,
    '',
  ].join('\n');
}

/** Fails with the first port of the plan that something else listens on, before anything is started. */
async function ensureFree(ports: ReadonlyArray<{ port: number; what: string }>): Promise<void> {
  for (const { port, what } of ports) {
    const server = createServer();
    const free = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (!free) throw new PortInUseError(port, what);
    await closeServer(server);
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await closeServer(server);
  return port;
}

function closeServer(server: Server | HttpServer): Promise<void> {
  if ('closeAllConnections' in server) server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
