/**
 * `npm start` without a config: fake Genesys + fake Instagram Graph API + a bridge wired to them, a demo DM
 * sent through the whole path, and every message the fake Genesys receives printed as an agent would see it.
 */
import { createLogger } from '../logger.js';
import { closeOnSignals, startServer } from '../entry/server.js';
import { SANDBOX, sandboxConfig, type SandboxPorts } from './config.js';
import { startFakeGenesys, type FakeGenesys } from './fake-genesys.js';
import { startFakeGraph } from './fake-graph.js';
import { sendSandboxDm } from './send.js';

export interface SandboxOptions {
  ports?: Partial<SandboxPorts>;
  store?: string;
  logLevel?: string;
  out?: (line: string) => void;
}

export async function runSandbox(opts: SandboxOptions = {}): Promise<void> {
  const out = opts.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const ports = { bridge: SANDBOX.bridgePort, genesys: SANDBOX.genesysPort, graph: SANDBOX.graphPort, ...opts.ports };
  const genesys = await startFakeGenesys({
    port: ports.genesys,
    clientId: SANDBOX.genesysClientId,
    clientSecret: SANDBOX.genesysClientSecret,
    integrationIds: [SANDBOX.integrationId],
  });
  const graph = await startFakeGraph({
    port: ports.graph,
    accessToken: SANDBOX.instagramAccessToken,
    accountId: SANDBOX.instagramAccountId,
    profiles: { [SANDBOX.customer.igsid]: { name: SANDBOX.customer.name, username: SANDBOX.customer.username } },
  });
  const logLevel = opts.logLevel ?? 'warn';
  const logger = createLogger(logLevel);
  const config = sandboxConfig(ports, opts.store ?? 'sqlite:./data/sandbox.db', logLevel);
  const running = await startServer({ config, logger });
  closeOnSignals(
    {
      ...running,
      close: async () => {
        await running.close();
        await Promise.all([genesys.close(), graph.close()]);
      },
    },
    logger,
  );

  out(
    [
      '',
      'dmbridge sandbox: nothing here talks to Meta or Genesys; all three servers are local fakes.',
      `  bridge           ${running.url}   POST /webhooks/instagram, GET /healthz, GET /metrics`,
      `  fake Genesys     ${genesys.url}   GET /sandbox/messages lists what agents received`,
      `  fake Graph API   ${graph.url}`,
      '',
      'Play the customer from another terminal:',
      '  npm run dmbridge -- sandbox send "Hi, where is my order?"',
      '  npm run dmbridge -- sandbox send --image https://picsum.photos/200.jpg "Is this one in stock?"',
      '',
    ].join('\n'),
  );
  printAgentView(genesys, out);

  const demo = await sendSandboxDm(running.url, { text: 'Hi! Is my order on its way? (demo DM sent by the sandbox)' });
  out(`customer → bridge: demo DM ${demo.mid.slice(0, 16)}… answered ${demo.status} ${demo.body}`);
}

/** Prints each message the fake Genesys accepts, the way the agent's workspace would show it. */
function printAgentView(genesys: FakeGenesys, out: (line: string) => void): void {
  let shown = 0;
  const timer = setInterval(() => {
    while (shown < genesys.messages.length) {
      const { body } = genesys.messages[shown++]!;
      out(`bridge → Genesys: ${describeForAgent(body)}`);
    }
  }, 100);
  timer.unref();
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
