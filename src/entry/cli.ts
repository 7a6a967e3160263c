#!/usr/bin/env node
/**
 * The `dmbridge` command: argument parsing (commander) and the exit codes; each command lives in its own module.
 * Every command and subcommand answers --help with all its options.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { CHANNELS } from '../channels/index.js';
import { createLogger } from '../logger.js';
import { EXIT, UsageError, configFile, exitFor, print, readConfig, type ConfigOption } from './cli-common.js';
import { describeConfig } from './cli-config.js';
import { runSandboxCommand } from './sandbox-cli.js';
import { closeOnSignals, startServer } from './server.js';

const EXIT_CODES = `
Exit codes: 0 ok; 1 a runtime failure, or a check that failed; 2 bad usage or an invalid configuration.
Configuration: YAML or JSON, \${ENV_VAR} interpolated (docs/configuration.md); every command that reads one takes
--config FILE or the DMBRIDGE_CONFIG environment variable.`;

const configOption = () => new Option('-c, --config <file>', 'the configuration file (default: $DMBRIDGE_CONFIG)');

function program(): Command {
  const cli = new Command('dmbridge')
    .description(`Direct messages from ${CHANNELS.map((c) => c.labels.platform).join(', ')} in Genesys Cloud Open Messaging.`)
    .version(packageVersion(), '-v, --version')
    .enablePositionalOptions()
    .showSuggestionAfterError()
    .configureHelp({ subcommandTerm: (cmd) => `${commandPath(cmd)} ${cmd.usage()}`.trim() })
    .addHelpText('after', EXIT_CODES);

  cli
    .command('serve')
    .usage('[--config FILE] [--log-level LEVEL]')
    .description('run the bridge on the configuration (never the sandbox: that is `dmbridge sandbox`)')
    .addOption(configOption())
    .addOption(new Option('--log-level <level>', 'overrides log.level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']))
    .action(async (opts: ConfigOption & { logLevel?: string }) => {
      const config = readConfig(opts);
      const logger = createLogger(opts.logLevel ?? config.log.level);
      closeOnSignals(await startServer({ config, logger }), logger);
    });

  cli
    .command('sandbox')
    .usage('[send | reply | ACTION] [options]')
    .description('run the sandbox (local fakes of Genesys and every platform), or play its customer or agent')
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .passThroughOptions()
    .argument('[args...]')
    .action(async (args: string[]) => {
      process.exitCode = await runSandboxCommand(args);
    });

  const config = cli.command('config').usage('check [--config FILE]').description('work with a configuration file');
  config
    .command('check')
    .usage('[--config FILE]')
    .description('validate a configuration and print what it sets up and the webhook URLs to paste, never a secret')
    .addOption(configOption())
    .action((opts: ConfigOption) => {
      for (const line of describeConfig(configFile(opts), readConfig(opts))) print(line);
    });

  cli
    .command('doctor')
    .usage('[--config FILE] [--json]')
    .description('check every credential, integration, subscription and the store online; exit 1 when anything fails')
    .addOption(configOption())
    .option('--json', 'print the checks as JSON')
    .action(async (opts: ConfigOption & { json?: boolean }) => {
      const { doctor } = await import('./cli-doctor.js');
      process.exitCode = await doctor(readConfig(opts), { json: opts.json === true });
    });

  const genesys = cli.command('genesys').usage('setup --connection ID [options]').description('set up Genesys Cloud for the bridge');
  genesys
    .command('setup')
    .usage('--connection ID [--config FILE] [--name NAME] [--keep-secret] [--timeout SECONDS]')
    .description("create or update a connection's Open Messaging integration, wait until it is active, print its configuration")
    .addOption(configOption())
    .requiredOption('--connection <id>', 'the connection whose integration to set up')
    .option('--name <name>', 'the integration name agents see (default: dmbridge <connection id>, or the existing name)')
    .option('--keep-secret', "keep the connection's configured webhookSecret instead of generating a new one")
    .option('--timeout <seconds>', 'how long to wait for Genesys to report the integration active', '120')
    .action(async (opts) => {
      const { genesysSetup } = await import('./cli-genesys.js');
      process.exitCode = await genesysSetup(opts);
    });

  const dead = cli
    .command('dead')
    .usage('list | show ID | retry (ID | --all) | drop ID  [--config FILE]')
    .description('look at and replay the dead letters of the configured store');
  dead
    .command('list')
    .usage('[--config FILE] [--limit N] [--json]')
    .description('the dead jobs, oldest failure first, without message content')
    .addOption(configOption())
    .option('--limit <n>', 'at most this many', '100')
    .option('--json', 'print them as JSON')
    .action(async (opts: ConfigOption & { limit: string; json?: boolean }) => {
      const { listDead } = await import('./cli-dead.js');
      process.exitCode = await listDead(readConfig(opts), { limit: positiveInt(opts.limit, '--limit'), json: opts.json === true });
    });
  dead
    .command('show')
    .usage('ID [--config FILE]')
    .description('one dead job, with its payload and last error')
    .addOption(configOption())
    .argument('<id>')
    .action(async (id: string, opts: ConfigOption) => {
      const { showDead } = await import('./cli-dead.js');
      process.exitCode = await showDead(readConfig(opts), id);
    });
  dead
    .command('retry')
    .usage('(ID | --all) [--config FILE]')
    .description('run a dead job again (after fixing its cause), before the later jobs of its conversation')
    .addOption(configOption())
    .argument('[id]')
    .option('--all', 'every dead job')
    .action(async (id: string | undefined, opts: ConfigOption & { all?: boolean }) => {
      const { retryDead } = await import('./cli-dead.js');
      process.exitCode = await retryDead(readConfig(opts), id, opts.all === true);
    });
  dead
    .command('drop')
    .usage('ID [--config FILE]')
    .description('delete a dead job for good')
    .addOption(configOption())
    .argument('<id>')
    .action(async (id: string, opts: ConfigOption) => {
      const { dropDead } = await import('./cli-dead.js');
      process.exitCode = await dropDead(readConfig(opts), id);
    });

  // Every command prints its own usage errors the same way (exit 2), never a commander stack.
  for (const command of [cli, ...allCommands(cli)]) {
    command.exitOverride().configureOutput({ writeErr: () => undefined, outputError: () => undefined });
  }
  return cli;
}

/** `dmbridge dead list`: the command with its parents, as it is typed. */
function commandPath(command: Command): string {
  return command.parent ? `${commandPath(command.parent)} ${command.name()}` : command.name();
}

function allCommands(command: Command): Command[] {
  return command.commands.flatMap((c) => [c, ...allCommands(c)]);
}

function positiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${flag} takes a positive whole number, not "${value}"`);
  return n;
}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

async function main(argv: string[]): Promise<number | undefined> {
  const cli = program();
  if (argv.length === 0) {
    process.stdout.write(cli.helpInformation());
    return EXIT.usage;
  }
  try {
    await cli.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return EXIT.ok;
    // commander says `error: unknown command 'x'`; say it the way every other refusal is said.
    throw new UsageError(err.message.replace(/^error: /, '').replace(/'([^']*)'/g, '"$1"'));
  }
  return undefined;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (err: unknown) => {
    const { code, message } = exitFor(err);
    process.stderr.write(`dmbridge: ${message}\n`);
    process.exitCode = code;
  },
);
