/**
 * `dmbridge sandbox …`: with no subcommand, starts the sandbox (`npm start`); `send`, `reply`, the channels' customer
 * actions and `clock` play it from another terminal through the running sandbox's console API, so that they use its
 * clock and fakes and show in its page. Each channel is chosen with `--<channel name>`; the first registered one by
 * default. Exit codes: 0 done, 1 it failed (not delivered, a Failed receipt, the sandbox unreachable, a port taken),
 * 2 bad usage or a play the channel refuses.
 */
import { parseArgs } from 'node:util';
import { SANDBOX, sandboxPorts } from '../sandbox/config.js';
import { PortInUseError, playableChannels, runSandbox } from './sandbox.js';
import { playFromTerminal, type Io, type PlayCommand } from './sandbox-play.js';

type Playable = Awaited<ReturnType<typeof playableChannels>>;

const STANDARD_IO: Io = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

/** Handles `dmbridge sandbox ARGS`; resolves with the exit code (for the start: once the sandbox has stopped). */
export async function runSandboxCommand(args: string[], io: Io = STANDARD_IO): Promise<number> {
  const playable = await playableChannels();
  const [sub, ...rest] = args;
  const command: PlayCommand | 'start' | undefined =
    sub === undefined || sub.startsWith('-') ? 'start' : sub === 'send' || sub === 'reply' || sub === 'clock' ? sub : playable.some((p) => p.sandbox.actions?.[sub]) ? { action: sub } : undefined;
  if (command === undefined) return usage(io, `unknown sandbox command "${sub}"; run "dmbridge sandbox --help"`);
  try {
    if (command === 'start') return await start(sub === undefined ? [] : args, playable, io);
    return await playFromTerminal(command, rest, playable, io, () => help(command, playable));
  } catch (err) {
    if (err instanceof TypeError && (err as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) return usage(io, err.message);
    if (err instanceof RangeError) return usage(io, err.message);
    throw err;
  }
}

async function start(args: string[], playable: Playable, io: Io): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      'port-base': { type: 'string' },
      store: { type: 'string' },
      'log-level': { type: 'string' },
      'no-demo': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    io.out(help('start', playable));
    return 0;
  }
  const portBase = values['port-base'] === undefined ? SANDBOX.portBase : portNumber(values['port-base']);
  let sandbox;
  try {
    sandbox = await runSandbox({
      portBase,
      ...(values.store ? { store: values.store } : {}),
      ...(values['log-level'] ? { logLevel: values['log-level'] } : {}),
      demo: !values['no-demo'],
      out: io.out,
    });
  } catch (err) {
    if (!(err instanceof PortInUseError)) throw err;
    io.err(`dmbridge: ${err.message}`);
    return 1;
  }
  const running = sandbox;
  return new Promise<number>((resolve) => {
    const stop = () => {
      process.once('SIGINT', () => process.exit(130));
      running.close().then(
        () => resolve(0),
        (err: unknown) => {
          io.err(`dmbridge: the sandbox did not stop cleanly: ${(err as Error).message}`);
          resolve(1);
        },
      );
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

/** The sandbox's lines in the top-level help. */
export async function sandboxSummary(): Promise<string> {
  const playable = await playableChannels();
  return [
    '  dmbridge sandbox [--port-base N]        run the sandbox: local fakes of Genesys and every platform, the',
    `                                          bridge, and the console on http://127.0.0.1:${SANDBOX.portBase + 1}/`,
    `  dmbridge sandbox send|reply|clock|${actionNames(playable).join('|')} [options]`,
    '                                          play the running sandbox from another terminal (each has --help)',
  ].join('\n');
}

/** The help of one command (`start`: the whole sandbox), every option listed. */
export function help(command: PlayCommand | 'start', playable: Playable): string {
  const flags = playable.map((p) => `--${p.channel.name}`).join(' | ');
  const first = playable[0]?.channel.name ?? 'none';
  const reach = [
    `  --port-base N        the sandbox's port base (default ${SANDBOX.portBase}): its console is on N+1`,
    '  --console URL        the console of the running sandbox (default: from --port-base)',
    '  -h, --help           this help',
  ];
  const channelLine = option(flags, `as that channel (default: ${first})`);
  const exits = 'Exit codes: 0 done, 1 failed (see the message), 2 bad usage or refused by the channel.';
  if (command === 'start') {
    const plan = sandboxPorts(SANDBOX.portBase, playable.map((p) => p.channel.labels.platform));
    return [
      'Usage: dmbridge sandbox [options]              run the sandbox (what `npm start` runs); Ctrl-C stops it',
      '       dmbridge sandbox COMMAND [options]      play it from another terminal (each has --help):',
      '         send | reply | clock | ' + actionNames(playable).join(' | '),
      '',
      'Options:',
      `  --port-base N        the ports, from N (default ${SANDBOX.portBase}): ${plan.all.map((p, i) => `${p.what} +${i}`).join(', ')}`,
      '                       0: every server on a free port',
      '  --store URL          the bridge\'s store (default sqlite:./data/sandbox.db)',
      '  --log-level LEVEL    the bridge\'s log level: trace, debug, info, warn (default), error, silent',
      '  --no-demo            do not send the demo DM at start',
      '  -h, --help           this help',
      '',
      'Exit codes: 0 stopped by a signal, 1 a port is taken or the sandbox failed, 2 bad usage.',
    ].join('\n');
  }
  if (command === 'send') {
    return [
      'Usage: dmbridge sandbox send [options] [TEXT]   play the customer: a DM, signed as the platform sends it; waits',
      '                                                until it reaches the fake Genesys and prints what the agent got',
      channelLine,
      '  --image URL          send an image (every channel takes one; a channel refuses text and image together where',
      '                       its DMs carry one or the other)',
      "  --from ID            another customer's platform id (where the channel can play one)",
      ...reach,
      exits,
    ].join('\n');
  }
  if (command === 'reply') {
    return [
      "Usage: dmbridge sandbox reply [options] TEXT    play the agent: Genesys's signed outbound notification; waits for",
      '                                                the receipt and prints it (exit 1 when it is Failed)',
      option(flags, "answer that channel's customer"),
      '  --image URL          attach an image',
      '  --to ID              the customer (default: the sandbox customer)',
      '  --bot                sent by a bot, not a human agent',
      ...reach,
      exits,
    ].join('\n');
  }
  if (command === 'clock') {
    return [
      'Usage: dmbridge sandbox clock [options]         print the sandbox clock, or move it forward: the bridge and the',
      '                                                platforms run on it, so reply windows close as time passes',
      '  --advance DURATION   e.g. 25h, 90m, 2d, 30s',
      "  --past-window        just past the end of the reply window of the channel's sandbox customer",
      channelLine,
      ...reach,
      exits,
    ].join('\n');
  }
  const offering = playable.filter((p) => p.sandbox.actions?.[command.action]);
  return [
    `Usage: dmbridge sandbox ${command.action} [options]`,
    ...offering.map((p) => option(`--${p.channel.name}`, p.sandbox.actions![command.action]!.help)),
    ...(offering.some((p) => p.sandbox.actions![command.action]!.takesText)
      ? [option('--text TEXT', [...new Set(offering.map((p) => p.sandbox.actions![command.action]!.takesText).filter(Boolean))].join(' / '))]
      : []),
    ...(offering.some((p) => p.sandbox.actions![command.action]!.about) ? ["  --message ID         the brand's message it is about (default: the latest)"] : []),
    ...reach,
    exits,
  ].join('\n');
}

/** `  --flag VALUE         what it does`, the text on the next line when the flag is long. */
function option(flag: string, text: string): string {
  const head = `  ${flag}`;
  return head.length < 23 ? `${head.padEnd(23)}${text}` : `${head}\n${' '.repeat(23)}${text}`;
}

function actionNames(playable: Playable): string[] {
  return [...new Set(playable.flatMap((p) => Object.keys(p.sandbox.actions ?? {})))];
}

function portNumber(text: string): number {
  if (!/^\d+$/.test(text)) throw new RangeError(`--port-base takes a number, not "${text}"`);
  return Number(text);
}

function usage(io: Io, message: string): number {
  io.err(`dmbridge: ${message}`);
  io.err('Run "dmbridge sandbox --help" for usage.');
  return 2;
}
