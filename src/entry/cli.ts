#!/usr/bin/env node
/**
 * The `dmbridge` command. Thin: parses arguments and calls the server, sandbox or config modules.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type ConnectionConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { CHANNELS } from '../channels/index.js';
import { runSandboxCommand, sandboxSummary } from './sandbox-cli.js';
import { closeOnSignals, startServer } from './server.js';

async function help(): Promise<string> {
  return `dmbridge: direct messages from ${CHANNELS.map((c) => c.labels.platform).join(', ')} in Genesys Cloud Open Messaging

Usage:
  dmbridge serve [--config FILE]          run the bridge; without a config (and without DMBRIDGE_CONFIG)
                                          run the sandbox: local fakes of Genesys and every platform
  dmbridge config check --config FILE     validate a config file and print what it sets up
${await sandboxSummary()}
  dmbridge --help | --version

Configuration: YAML or JSON, \${ENV_VAR} interpolated; see docs/configuration.md.
Exit codes: 0 ok, 1 runtime failure, 2 bad usage or invalid configuration.`;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(`${await help()}\n`);
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
      return runSandboxCommand(rest);
    default:
      return usage(`unknown command "${command}"`);
  }
}

async function serve(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { config: { type: 'string', short: 'c' }, 'log-level': { type: 'string' } } });
  const file = values.config ?? process.env.DMBRIDGE_CONFIG;
  if (!file) {
    const { runSandbox } = await import('./sandbox.js');
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
      ...config.connections.map((c) => `  connection ${c.id}: ${c.channel} account ${accountOf(c)} → integration ${c.genesys.integrationId}`),
      '',
    ].join('\n'),
  );
  return 0;
}

/** The connection's platform account, as its channel module names it. */
function accountOf(connection: ConnectionConfig): string {
  return CHANNELS.find((c) => c.name === connection.channel)?.accountId(connection) ?? '?';
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
