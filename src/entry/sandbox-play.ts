/**
 * `dmbridge sandbox send | reply | <action> | clock`: asks the running sandbox's console to play the customer or the
 * agent, or to move its clock, and prints what happened (src/sandbox/console/app.ts has the API).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { SANDBOX, sandboxPorts } from '../sandbox/config.js';
import type { playableChannels } from './sandbox.js';

export interface Io {
  out(line: string): void;
  err(line: string): void;
}

export type PlayCommand = 'send' | 'reply' | 'clock' | { action: string };

type Playable = Awaited<ReturnType<typeof playableChannels>>;

/** Waits for an outcome at the fake Genesys: a message within 10 s, a receipt within 15 s. */
const MESSAGE_WAIT_MS = 10_000;
const RECEIPT_WAIT_MS = 15_000;

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export async function playFromTerminal(command: PlayCommand, args: string[], playable: Playable, io: Io, help: () => string): Promise<number> {
  const channelFlags = Object.fromEntries(playable.map((p) => [p.channel.name, { type: 'boolean', default: false } as const]));
  const parse = <O extends NonNullable<ParseArgsConfig['options']>>(options: O) =>
    parseArgs({
      args,
      allowPositionals: true,
      options: { ...channelFlags, ...options, 'port-base': { type: 'string' }, console: { type: 'string' }, help: { type: 'boolean', short: 'h', default: false } },
    });
  const { values, positionals } = parse(optionsOf(command));
  const v = values as Record<string, string | boolean | undefined>;
  if (v.help) {
    io.out(help());
    return 0;
  }
  const picked = playable.filter((p) => v[p.channel.name] === true);
  if (picked.length > 1) return refuse(io, 'choose one channel flag', 2);
  const consoleUrl = typeof v.console === 'string' ? v.console.replace(/\/+$/, '') : defaultConsole(v['port-base'], playable);
  const text = positionals.join(' ');
  const api = new ConsoleApi(consoleUrl, io);

  if (command === 'clock') {
    if (v.advance !== undefined && v['past-window']) return refuse(io, 'give --advance or --past-window, not both', 2);
    const body = v.advance !== undefined ? { advanceMs: duration(String(v.advance)) } : v['past-window'] ? { pastWindowOf: (picked[0] ?? playable[0])!.channel.name } : undefined;
    const answer = body ? await api.post('/api/clock', body) : await api.get('/api/state');
    if (!answer.ok) return answer.code;
    const { now, offsetMs } = answer.json as { now: number; offsetMs: number };
    io.out(`sandbox clock: ${new Date(now).toISOString()} (${formatOffset(offsetMs)} ahead of real time)`);
    return 0;
  }

  if (command === 'reply') {
    const target = picked[0] ?? playable[0]!;
    if (!text && !v.image) return refuse(io, 'sandbox reply needs a TEXT or --image URL', 2);
    const answer = await api.post(`/api/agent?wait=${RECEIPT_WAIT_MS}`, { channel: target.channel.name, ...(text ? { text } : {}), ...(v.image ? { imageUrl: v.image } : {}), bot: v.bot === true, ...(v.to ? { to: v.to } : {}) });
    if (!answer.ok) return answer.code;
    const outcome = answer.json as { status: number; body: string; genesysMessageId: string; receipt?: { status: string; reasons?: Array<{ code?: string; message: string }> } };
    io.out(`agent → bridge: ${outcome.status} ${outcome.body} (Genesys message ${outcome.genesysMessageId})`);
    if (outcome.status !== 200) return 1;
    if (!outcome.receipt) return refuse(io, `no receipt at the fake Genesys within ${RECEIPT_WAIT_MS / 1000} s`, 1);
    io.out(`bridge → Genesys receipt: ${JSON.stringify(outcome.receipt, null, 2)}`);
    if (outcome.receipt.status !== 'Failed') return 0;
    const reason = outcome.receipt.reasons?.[0];
    return refuse(io, `the reply was not delivered${reason ? ` (${reason.code ?? 'no code'}): ${reason.message}` : ''}`, 1);
  }

  const action = command === 'send' ? 'send' : command.action;
  const offering = command === 'send' ? playable : playable.filter((p) => p.sandbox.actions?.[action]);
  const target = picked[0] ?? offering[0]!;
  if (!offering.includes(target)) return refuse(io, `${target.channel.labels.platform} has no customer action "${action}"`, 2);
  const body =
    command === 'send'
      ? { channel: target.channel.name, action, ...(text ? { text } : {}), ...(v.image ? { imageUrl: v.image } : {}), ...(v.from ? { from: v.from } : {}) }
      : { channel: target.channel.name, action, ...(v.text ? { text: v.text } : text ? { text } : {}), ...(v.message ? { messageId: v.message } : {}) };
  if (command === 'send' && !text && !v.image) return refuse(io, 'sandbox send needs a TEXT or --image URL', 2);
  const answer = await api.post(`/api/customer?wait=${MESSAGE_WAIT_MS}`, body);
  if (!answer.ok) return answer.code;
  const outcome = answer.json as { status: number; body: string; label: string; delivered?: unknown };
  io.out(`customer → bridge: ${outcome.label}: ${outcome.status} ${outcome.body}`);
  if (outcome.status !== 200) return 1;
  if (outcome.delivered === undefined) return refuse(io, `not seen at the fake Genesys within ${MESSAGE_WAIT_MS / 1000} s`, 1);
  io.out(`bridge → Genesys: ${JSON.stringify(outcome.delivered, null, 2)}`);
  return 0;
}

/** Each command's own options. */
function optionsOf(command: PlayCommand): NonNullable<ParseArgsConfig['options']> {
  if (command === 'send') return { image: { type: 'string' }, from: { type: 'string' } };
  if (command === 'reply') return { image: { type: 'string' }, to: { type: 'string' }, bot: { type: 'boolean', default: false } };
  if (command === 'clock') return { advance: { type: 'string' }, 'past-window': { type: 'boolean', default: false } };
  return { text: { type: 'string' }, message: { type: 'string' } };
}

/** The console's JSON API; a refusal (4xx) is exit 2, anything else that fails exit 1, each with its sentence. */
class ConsoleApi {
  constructor(
    private readonly url: string,
    private readonly io: Io,
  ) {}

  get(path: string) {
    return this.call(path, { method: 'GET' });
  }

  post(path: string, body: unknown) {
    return this.call(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  }

  private async call(path: string, init: RequestInit): Promise<{ ok: true; json: unknown } | { ok: false; code: number }> {
    let res: Response;
    try {
      res = await fetch(`${this.url}${path}`, { ...init, signal: AbortSignal.timeout(45_000) });
    } catch (err) {
      const cause = (err as { cause?: { message?: string } }).cause?.message ?? (err as Error).message;
      return { ok: false, code: refuse(this.io, `cannot reach the sandbox console at ${this.url}: is \`npm start\` running? (${cause})`, 1) };
    }
    const json = (await res.json().catch(() => ({}))) as { error?: string };
    if (res.ok) return { ok: true, json };
    return { ok: false, code: refuse(this.io, json.error ?? `the console answered ${res.status}`, res.status >= 400 && res.status < 500 ? 2 : 1) };
  }
}

function defaultConsole(portBase: string | boolean | undefined, playable: Playable): string {
  const base = portBase === undefined ? SANDBOX.portBase : Number(portBase);
  if (typeof portBase === 'string' && !/^\d+$/.test(portBase)) throw new RangeError(`--port-base takes a number, not "${portBase}"`);
  if (base === 0) throw new RangeError('a sandbox on free ports (--port-base 0) is reached with --console URL');
  return `http://127.0.0.1:${sandboxPorts(base, playable.map((p) => p.channel.labels.platform)).console}`;
}

/** `25h`, `90m`, `2d`, `30s`, or milliseconds. */
function duration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([smhd]?)$/.exec(text.trim());
  if (!m) throw new RangeError(`--advance takes a duration such as 25h, 90m, 2d or 30s, not "${text}"`);
  return Math.round(Number(m[1]) * (m[2] ? UNITS[m[2]]! : 1));
}

function formatOffset(ms: number): string {
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.floor((ms % 3_600_000) / 60_000);
  return `${hours} h ${minutes} min`;
}

function refuse(io: Io, message: string, code: number): number {
  io.err(`dmbridge: ${message}`);
  return code;
}
