/**
 * `npm start`: a fake Genesys, the fake platform of every channel that has a sandbox, a bridge wired to them, a
 * demo DM sent through the whole path, and everything that crosses the fakes printed as an agent would see it.
 */
import { createServer, type AddressInfo } from 'node:net';
import { CHANNELS } from '../channels/index.js';
import type { ChannelModule, ChannelSandbox, SandboxFake } from '../core/channel.js';
import { createLogger } from '../logger.js';
import { SANDBOX, sandboxConfig } from '../sandbox/config.js';
import { startFakeGenesys, type FakeGenesys } from '../sandbox/fake-genesys/index.js';
import { startServer } from './server.js';

export interface SandboxPorts {
  bridge?: number;
  genesys?: number;
  /** By channel name; 0 for any free port. */
  channels?: Record<string, number>;
}

export interface SandboxOptions {
  /** Absent: the well-known ports (SANDBOX); `any`: every server on a free port; 0 for one: a free port. */
  ports?: SandboxPorts | 'any';
  store?: string;
  logLevel?: string;
  out?: (line: string) => void;
  channels?: readonly ChannelModule[];
}

export interface RunningSandbox {
  bridgeUrl: string;
  genesys: FakeGenesys;
  /** Each channel's fake platform, by channel name. */
  fakes: ReadonlyMap<string, SandboxFake>;
  close(): Promise<void>;
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
  const ports: SandboxPorts = opts.ports === 'any' ? { bridge: 0, genesys: 0, channels: Object.fromEntries((opts.channels ?? CHANNELS).map((c) => [c.name, 0])) } : (opts.ports ?? {});
  const channels = opts.channels ?? CHANNELS;
  const playable = await playableChannels(channels);
  const genesys = await startFakeGenesys({
    port: ports.genesys ?? SANDBOX.genesysPort,
    clientId: SANDBOX.genesysClientId,
    clientSecret: SANDBOX.genesysClientSecret,
    integrationIds: playable.map((p) => p.sandbox.integrationId),
  });
  // The bridge's port must be known before it starts: it is in the media links it hands out, and the fakes post
  // their echoes to it.
  const bridgePort = ports.bridge ?? SANDBOX.bridgePort;
  const bridgeUrl = `http://127.0.0.1:${bridgePort || (await freePort())}`;
  const fakes = new Map<string, SandboxFake>();
  for (const [i, { channel, sandbox }] of playable.entries()) {
    fakes.set(channel.name, await sandbox.startFake({ port: ports.channels?.[channel.name] ?? SANDBOX.firstFakePort + 100 * i, bridgeUrl }));
  }
  const logLevel = opts.logLevel ?? 'warn';
  const config = sandboxConfig(
    {
      bridgePort: Number(new URL(bridgeUrl).port),
      genesysUrl: genesys.url,
      connections: playable.map(({ channel, sandbox }) => sandbox.connection(fakes.get(channel.name)!.url)),
      channels,
    },
    opts.store ?? 'sqlite:./data/sandbox.db',
    logLevel,
  );
  const running = await startServer({ config, logger: createLogger(logLevel), channels });
  const timer = printTraffic(genesys, [...fakes.values()], out);
  const sandbox: RunningSandbox = {
    bridgeUrl: running.url,
    genesys,
    fakes,
    async close() {
      clearInterval(timer);
      await running.close();
      await Promise.all([genesys.close(), ...[...fakes.values()].map((fake) => fake.close())]);
    },
  };

  out(banner(running.url, genesys.url, playable, fakes));
  const first = playable[0];
  if (first) {
    const demo = await first.sandbox.send(running.url, { text: 'Hi! Is my order on its way? (demo DM sent by the sandbox)' });
    out(`customer → bridge: demo ${demo.label} answered ${demo.status} ${demo.body}`);
  }
  return sandbox;
}

function banner(bridgeUrl: string, genesysUrl: string, playable: PlayableChannel[], fakes: ReadonlyMap<string, SandboxFake>): string {
  const flag = (i: number, channel: ChannelModule) => (i === 0 ? '' : ` --${channel.name}`);
  const routes = playable.map(({ channel }) => `POST ${channel.webhook.path}`).join(', ');
  return [
    '',
    'dmbridge sandbox: nothing here talks to a real platform or to Genesys; every server is a local fake.',
    `  bridge           ${bridgeUrl}   ${routes}, POST /webhooks/genesys/<connection>, GET /healthz, GET /metrics`,
    `  fake Genesys     ${genesysUrl}   GET /sandbox/messages and /sandbox/receipts: what agents received`,
    ...playable.map(({ channel }) => `  fake ${channel.labels.platform.padEnd(11)} ${fakes.get(channel.name)!.url}`),
    '',
    'Play the customer from another terminal:',
    ...playable.flatMap(({ channel, sandbox }, i) => [
      `  npm run dmbridge -- sandbox send${flag(i, channel)} "Hi, where is my order?"`,
      ...Object.entries(sandbox.actions ?? {}).map(([name, action]) => `  npm run dmbridge -- sandbox ${name}${flag(i, channel)}          (${action.help})`),
    ]),
    'and the agent:',
    ...playable.map(({ channel }, i) => `  npm run dmbridge -- sandbox reply${flag(i, channel)} "Your parcel ships today."`),
    '',
  ].join('\n');
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Prints what crosses each fake: messages and receipts at Genesys, sends at each platform. */
function printTraffic(genesys: FakeGenesys, fakes: SandboxFake[], out: (line: string) => void): NodeJS.Timeout {
  let messages = 0;
  let receipts = 0;
  const timer = setInterval(() => {
    while (messages < genesys.messages.length) out(`bridge → Genesys: ${describeForAgent(genesys.messages[messages++]!.body)}`);
    for (const fake of fakes) for (const line of fake.takeTraffic()) out(line);
    while (receipts < genesys.receipts.length) {
      const receipt = genesys.receipts[receipts++]!.body as { id: string; status: string; reasons?: Array<{ code?: string; message: string }> };
      const reason = receipt.reasons?.[0];
      out(`bridge → Genesys receipt for ${receipt.id}: ${receipt.status}${reason ? ` (${reason.code}) ${reason.message}` : ''}`);
    }
  }, 100);
  timer.unref();
  return timer;
}

function describeForAgent(body: unknown): string {
  const msg = body as {
    text?: string;
    content?: Array<{ attachment?: { mediaType?: string; url?: string } }>;
    channel?: { from?: { nickname?: string; id?: string }; metadata?: { customAttributes?: Record<string, string> } };
  };
  const who = msg.channel?.from?.nickname ?? msg.channel?.from?.id ?? 'unknown';
  const source = msg.channel?.metadata?.customAttributes?.['dmbridge.source'] ?? 'unknown source';
  const attachment = msg.content?.[0]?.attachment;
  const media = attachment ? ` [${attachment.mediaType} ${attachment.url}]` : '';
  return `[${source}] ${who}: ${msg.text ?? ''}${media}`;
}
