/**
 * `dmbridge sandbox …`: plays the customer of any channel that has a sandbox, or the agent, against a running
 * sandbox (`npm start`). Each channel is chosen with `--<channel name>`; the first registered one by default.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { ChannelSandbox, SandboxDelivery } from '../core/channel.js';
import { SANDBOX } from '../sandbox/config.js';
import { playableChannels } from './sandbox.js';

type Usage = (message: string) => number;

const COMMON = {
  bridge: { type: 'string', default: `http://127.0.0.1:${SANDBOX.bridgePort}` },
  genesys: { type: 'string', default: `http://127.0.0.1:${SANDBOX.genesysPort}` },
} as const;

/** The sandbox usage lines for --help: the channel flags and the actions they offer. */
export async function sandboxHelp(): Promise<string> {
  const playable = await playableChannels();
  const flags = playable.map((p) => `--${p.channel.name}`).join(' | ');
  const actions = playable.flatMap((p) => Object.entries(p.sandbox.actions ?? {}).map(([name, a]) => `${name} (${a.help}, --${p.channel.name})`));
  return [
    '  dmbridge sandbox send [options] TEXT    play the customer: DM the sandbox bridge and wait for the',
    '                                          message to reach the fake Genesys',
    `      ${flags}`,
    `                         as that channel's customer (default: ${playable[0]?.channel.name ?? 'none'})`,
    '      --image URL        attach an image (where the channel can)',
    "      --from ID          the customer's platform id (default: the sandbox customer)",
    `      --bridge URL       default ${COMMON.bridge.default}`,
    `      --genesys URL      default ${COMMON.genesys.default}`,
    `  dmbridge sandbox ACTION [options]       another customer action: ${actions.join('; ') || 'none'}`,
    '  dmbridge sandbox reply [options] TEXT   play the agent: post a signed Genesys outbound notification to the',
    '                                          sandbox bridge and wait for its receipt',
    `      ${flags}   answer that channel's customer`,
    '      --to ID            customer id (default: the sandbox customer)',
    '      --bot              sent by a bot, not a human agent',
    '      --bridge URL, --genesys URL as above',
  ].join('\n');
}

export async function sandboxCommand(args: string[], usage: Usage): Promise<number> {
  const [sub, ...rest] = args;
  const playable = await playableChannels();
  const channelFlags = Object.fromEntries(playable.map((p) => [p.channel.name, { type: 'boolean', default: false } as const]));
  /** The channel whose flag is set, or the first one; undefined when several flags are set. */
  const chosen = (values: Record<string, unknown>) => {
    const picked = playable.filter((p) => values[p.channel.name] === true);
    return picked.length > 1 ? undefined : (picked[0] ?? playable[0]);
  };
  const parse = <O extends ParseArgsConfig['options']>(options: O) => parseArgs({ args: rest, allowPositionals: true, options: { ...COMMON, ...channelFlags, ...options } });

  if (sub === 'reply') {
    const { values, positionals } = parse({ to: { type: 'string' }, bot: { type: 'boolean', default: false } });
    const target = chosen(values);
    if (!target) return usage('sandbox reply takes one channel flag');
    const text = positionals.join(' ');
    if (!text) return usage('sandbox reply needs a TEXT');
    return reply(target.sandbox, { text, to: values.to as string | undefined, bot: values.bot === true, bridge: String(values.bridge), genesys: String(values.genesys) });
  }
  if (sub === 'send') {
    const { values, positionals } = parse({ image: { type: 'string' }, from: { type: 'string' } });
    const target = chosen(values);
    if (!target) return usage('sandbox send takes one channel flag');
    const text = positionals.join(' ');
    if (!text && !values.image) return usage('sandbox send needs a TEXT or --image URL');
    const message = { ...(text ? { text } : {}), ...(values.image ? { imageUrl: String(values.image) } : {}), ...(values.from ? { from: String(values.from) } : {}) };
    return deliver(() => target.sandbox.send(String(values.bridge), message), String(values.bridge), String(values.genesys), usage);
  }
  const offering = playable.filter((p) => sub !== undefined && p.sandbox.actions?.[sub]);
  if (sub === undefined || offering.length === 0) return usage(`usage: dmbridge sandbox send|reply|${playable.flatMap((p) => Object.keys(p.sandbox.actions ?? {})).join('|')} [options]`);
  const { values } = parse({});
  const target = offering.find((p) => (values as Record<string, unknown>)[p.channel.name] === true) ?? offering[0]!;
  const bridge = String(values.bridge);
  return deliver(() => target.sandbox.actions![sub]!.play(bridge), bridge, String(values.genesys), usage);
}

async function deliver(send: () => Promise<SandboxDelivery>, bridge: string, genesys: string, usage: Usage): Promise<number> {
  const { waitForSandboxMessage } = await import('../sandbox/watch.js');
  let sent: SandboxDelivery;
  try {
    sent = await send();
  } catch (err) {
    if (err instanceof TypeError) return bridgeUnreachable(bridge, err);
    return usage((err as Error).message);
  }
  process.stdout.write(`customer → bridge: ${sent.label}: ${sent.status} ${sent.body}\n`);
  if (sent.status !== 200) return 1;
  const delivered = await waitForSandboxMessage(genesys, undefined, 10_000, (body) => sent.matches(body));
  if (!delivered) {
    process.stderr.write(`not seen at the fake Genesys (${genesys}) within 10 s\n`);
    return 1;
  }
  process.stdout.write(`bridge → Genesys: ${JSON.stringify(delivered, null, 2)}\n`);
  return 0;
}

async function reply(sandbox: ChannelSandbox, opts: { text: string; to: string | undefined; bot: boolean; bridge: string; genesys: string }): Promise<number> {
  const { deliverOutbound, outboundWebhookBody } = await import('../sandbox/fake-genesys/index.js');
  const { waitForSandboxReceipt } = await import('../sandbox/watch.js');
  const { id, body } = outboundWebhookBody({
    integrationId: sandbox.integrationId,
    customerId: opts.to ?? sandbox.customerId,
    text: opts.text,
    originatingEntity: opts.bot ? 'Bot' : 'Human',
  });
  let answer;
  try {
    answer = await deliverOutbound(`${opts.bridge}/webhooks/genesys/${sandbox.connectionId}`, body, sandbox.genesysWebhookSecret, { retryDelayMs: 500 });
  } catch (err) {
    return bridgeUnreachable(opts.bridge, err);
  }
  process.stdout.write(`agent → bridge: ${answer.status} ${answer.text} (Genesys message ${id})\n`);
  if (answer.status !== 200) return 1;
  const receipt = await waitForSandboxReceipt(opts.genesys, id, 15_000);
  if (!receipt) {
    process.stderr.write(`no receipt at the fake Genesys (${opts.genesys}) within 15 s\n`);
    return 1;
  }
  process.stdout.write(`bridge → Genesys receipt: ${JSON.stringify(receipt, null, 2)}\n`);
  return 0;
}

function bridgeUnreachable(bridge: string, err: unknown): number {
  process.stderr.write(`cannot reach the bridge at ${bridge}: is \`npm start\` running? (${(err as Error).message})\n`);
  return 1;
}
