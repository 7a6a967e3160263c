#!/usr/bin/env node
/**
 * The `dmbridge` command. Thin: parses arguments and calls the server, sandbox or config modules.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { SANDBOX } from '../sandbox/config.js';
import { closeOnSignals, startServer } from './server.js';

const HELP = `dmbridge: Instagram and TikTok direct messages in Genesys Cloud Open Messaging

Usage:
  dmbridge serve [--config FILE]          run the bridge; without a config (and without DMBRIDGE_CONFIG)
                                          run the sandbox: local fakes of Genesys and Instagram
  dmbridge config check --config FILE     validate a config file and print what it sets up
  dmbridge sandbox send [options] TEXT    play the customer: DM the sandbox bridge and wait for the
                                          message to reach the fake Genesys
      --tiktok           as the TikTok customer (default: Instagram)
      --image URL        attach an image (Instagram)
      --from IGSID       Instagram customer id (default ${SANDBOX.customer.igsid})
      --bridge URL       default http://127.0.0.1:${SANDBOX.bridgePort}
      --genesys URL      default http://127.0.0.1:${SANDBOX.genesysPort}
  dmbridge sandbox mention [options]      play a TikTok user mentioning the brand in a video
  dmbridge sandbox reply [options] TEXT   play the agent: post a signed Genesys outbound notification to the
                                          sandbox bridge and wait for its receipt
      --tiktok           answer the TikTok customer (default: Instagram)
      --to ID            customer id (default ${SANDBOX.customer.igsid}, or ${SANDBOX.tiktok.customer.id} with --tiktok)
      --bot              sent by a bot, not a human agent
      --bridge URL, --genesys URL as above
  dmbridge --help | --version

Configuration: YAML or JSON, \${ENV_VAR} interpolated; see docs/configuration.md.
Exit codes: 0 ok, 1 runtime failure, 2 bad usage or invalid configuration.`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(`${HELP}\n`);
      return command === undefined ? 2 : 0;
    case '-v':
    case '--version':
      process.stdout.write(`${packageVersion()}\n`);
      return 0;
    case 'serve':
      return serve(rest);
    case 'config':
      return configCommand(rest);
    case 'sandbox':
      return sandboxCommand(rest);
    default:
      return usage(`unknown command "${command}"`);
  }
}

async function serve(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { config: { type: 'string', short: 'c' }, 'log-level': { type: 'string' } } });
  const file = values.config ?? process.env.DMBRIDGE_CONFIG;
  if (!file) {
    const { runSandbox } = await import('../sandbox/run.js');
    const logLevel = values['log-level'] ?? 'warn';
    const sandbox = await runSandbox({ logLevel });
    closeOnSignals(sandbox, createLogger(logLevel));
    return -1; // keep running
  }
  const config = loadConfig(file);
  const logger = createLogger(values['log-level'] ?? config.log.level);
  const running = await startServer({ config, logger });
  closeOnSignals(running, logger);
  return -1;
}

function configCommand(args: string[]): number {
  const [sub, ...rest] = args;
  if (sub !== 'check') return usage('usage: dmbridge config check --config FILE');
  const { values } = parseArgs({ args: rest, options: { config: { type: 'string', short: 'c' } } });
  if (!values.config) return usage('config check needs --config FILE');
  const config = loadConfig(values.config);
  process.stdout.write(
    [
      `${values.config}: valid`,
      `  listen   http://${config.server.host}:${config.server.port}`,
      `  store    ${config.store}`,
      `  genesys  ${config.genesys.apiBaseUrl} (client ${config.genesys.clientId})`,
      ...config.connections.map((c) => `  connection ${c.id}: ${c.channel} account ${c.channel === 'instagram' ? c.accountId : c.businessId} → integration ${c.genesys.integrationId}`),
      '',
    ].join('\n'),
  );
  return 0;
}

async function sandboxCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'reply') return sandboxReply(rest);
  if (sub === 'mention') return sandboxMention(rest);
  if (sub !== 'send') return usage('usage: dmbridge sandbox send|mention|reply [options] TEXT');
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      tiktok: { type: 'boolean', default: false },
      image: { type: 'string' },
      from: { type: 'string' },
      bridge: { type: 'string', default: `http://127.0.0.1:${SANDBOX.bridgePort}` },
      genesys: { type: 'string', default: `http://127.0.0.1:${SANDBOX.genesysPort}` },
    },
  });
  const text = positionals.join(' ');
  if (!text && !values.image) return usage('sandbox send needs a TEXT or --image URL');
  const { sendSandboxDm, sendSandboxTikTokDm } = await import('../sandbox/send.js');
  const { waitForSandboxMessage } = await import('../sandbox/watch.js');
  let sent;
  try {
    sent = values.tiktok
      ? await sendSandboxTikTokDm(values.bridge, text).then((r) => ({ ...r, mid: r.messageId }))
      : await sendSandboxDm(values.bridge, {
          ...(text ? { text } : {}),
          ...(values.image ? { imageUrl: values.image } : {}),
          ...(values.from ? { from: values.from } : {}),
        });
  } catch (err) {
    return bridgeUnreachable(values.bridge, err);
  }
  process.stdout.write(`customer → bridge: ${sent.status} ${sent.body} (message ${sent.mid.slice(0, 24)}…)\n`);
  if (sent.status !== 200) return 1;
  const delivered = await waitForSandboxMessage(values.genesys, sent.mid, 10_000);
  if (!delivered) {
    process.stderr.write(`not seen at the fake Genesys (${values.genesys}) within 10 s\n`);
    return 1;
  }
  process.stdout.write(`bridge → Genesys: ${JSON.stringify(delivered, null, 2)}\n`);
  return 0;
}

async function sandboxMention(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      bridge: { type: 'string', default: `http://127.0.0.1:${SANDBOX.bridgePort}` },
      genesys: { type: 'string', default: `http://127.0.0.1:${SANDBOX.genesysPort}` },
    },
  });
  const { sendSandboxTikTokMention } = await import('../sandbox/send.js');
  const { waitForSandboxMessage } = await import('../sandbox/watch.js');
  let sent;
  try {
    sent = await sendSandboxTikTokMention(values.bridge);
  } catch (err) {
    return bridgeUnreachable(values.bridge, err);
  }
  process.stdout.write(`TikTok → bridge: brand mention in video ${sent.videoId}: ${sent.status} ${sent.body}\n`);
  if (sent.status !== 200) return 1;
  const delivered = await waitForSandboxMessage(values.genesys, undefined, 10_000, (body) => JSON.stringify(body).includes(sent.videoId));
  if (!delivered) {
    process.stderr.write(`not seen at the fake Genesys (${values.genesys}) within 10 s\n`);
    return 1;
  }
  process.stdout.write(`bridge → Genesys: ${JSON.stringify(delivered, null, 2)}\n`);
  return 0;
}

function bridgeUnreachable(bridge: string, err: unknown): number {
  process.stderr.write(`cannot reach the bridge at ${bridge}: is \`npm start\` running? (${(err as Error).message})\n`);
  return 1;
}

async function sandboxReply(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      tiktok: { type: 'boolean', default: false },
      to: { type: 'string' },
      bot: { type: 'boolean', default: false },
      bridge: { type: 'string', default: `http://127.0.0.1:${SANDBOX.bridgePort}` },
      genesys: { type: 'string', default: `http://127.0.0.1:${SANDBOX.genesysPort}` },
    },
  });
  const text = positionals.join(' ');
  if (!text) return usage('sandbox reply needs a TEXT');
  const { deliverOutbound, outboundWebhookBody } = await import('../sandbox/fake-genesys/index.js');
  const { waitForSandboxReceipt } = await import('../sandbox/watch.js');
  const target = values.tiktok
    ? { connectionId: SANDBOX.tiktok.connectionId, integrationId: SANDBOX.tiktok.integrationId, secret: SANDBOX.tiktok.genesysWebhookSecret, customer: SANDBOX.tiktok.customer.id }
    : { connectionId: SANDBOX.connectionId, integrationId: SANDBOX.integrationId, secret: SANDBOX.genesysWebhookSecret, customer: SANDBOX.customer.igsid };
  const { id, body } = outboundWebhookBody({
    integrationId: target.integrationId,
    customerId: values.to ?? target.customer,
    text,
    originatingEntity: values.bot ? 'Bot' : 'Human',
  });
  let answer;
  try {
    answer = await deliverOutbound(`${values.bridge}/webhooks/genesys/${target.connectionId}`, body, target.secret, { retryDelayMs: 500 });
  } catch (err) {
    return bridgeUnreachable(values.bridge, err);
  }
  process.stdout.write(`agent → bridge: ${answer.status} ${answer.text} (Genesys message ${id})\n`);
  if (answer.status !== 200) return 1;
  const receipt = await waitForSandboxReceipt(values.genesys, id, 15_000);
  if (!receipt) {
    process.stderr.write(`no receipt at the fake Genesys (${values.genesys}) within 15 s\n`);
    return 1;
  }
  process.stdout.write(`bridge → Genesys receipt: ${JSON.stringify(receipt, null, 2)}\n`);
  return 0;
}

function usage(message: string): number {
  process.stderr.write(`dmbridge: ${message}\nRun "dmbridge --help" for usage.\n`);
  return 2;
}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof ConfigError) {
      process.stderr.write(`dmbridge: ${err.message}\n`);
      process.exitCode = 2;
    } else if (err instanceof TypeError && (err as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
      process.exitCode = usage(err.message);
    } else {
      process.stderr.write(`dmbridge: ${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
